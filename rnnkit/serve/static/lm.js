// The language-model tab: streamed generation, then the text coloured by one unit or gate.
import { postJSON, streamGenerate } from "./api.js";
import { alone, bars, diverging, el, scaler, status } from "./shade.js";

const MAX_INSPECT = 1500; // characters of the text sent to /inspect (its end)
const SIGNALS = { i: "input gate", f: "forget gate", g: "candidate", o: "output gate",
  c: "cell state", h: "hidden state", r: "reset gate", z: "update gate", n: "candidate" };

function field(label, input) {
  return el("label", {}, label, input);
}

function number(name, value, attrs = {}) {
  return el("input", { type: "number", name, value, ...attrs });
}

/** Build the tab of a language model into `panel`. */
export function lmTab(panel, model) {
  const prompt = el("textarea", { class: "prompt", rows: 3, "aria-label": "prompt" });
  prompt.value = "The ";
  const inputs = {
    max_tokens: number("max_tokens", 200, { min: 1, max: 2000 }),
    temperature: number("temperature", 0.8, { min: 0, step: 0.1 }),
    top_k: number("top_k", "", { min: 1, placeholder: "off" }),
    top_p: number("top_p", "", { min: 0, max: 1, step: 0.05, placeholder: "off" }),
    seed: number("seed", "", { min: 0, placeholder: "any" }),
  };
  const generate = el("button", { class: "primary generate", text: "Generate" });
  const stop = el("button", { class: "plain stop", text: "Stop", disabled: true });
  const inspectButton = el("button", { class: "plain inspect", text: "Inspect the prompt" });
  const promptShown = el("span", { class: "prompt-text" });
  const generated = el("span", { class: "generated" });
  const output = el("pre", { class: "output" }, promptShown, generated);
  const finish = el("p", { class: "note finish" });

  const traceSelect = el("select", { class: "trace", "aria-label": "layer" });
  const signalSelect = el("select", { class: "signal", "aria-label": "signal" });
  const unitSelect = el("select", { class: "unit", "aria-label": "ranked units" });
  const unitNumber = number("unit", 0, { min: 0, class: "unit-number" });
  const chars = el("div", { class: "chars", "aria-label": "the text coloured by the unit" });
  const next = el("div", { class: "next" }, el("p", { class: "note", text:
    "Hover a character: the likeliest next tokens after it." }));
  const about = el("p", { class: "note about" });

  panel.append(
    el("section", {}, el("h2", { text: "Generate" }), prompt,
      el("div", { class: "controls" }, Object.entries(inputs).map(([k, v]) => field(k, v)),
        generate, stop, inspectButton),
      output, finish),
    el("section", { class: "inside-section" }, el("h2", { text: "Inside the network" }),
      el("div", { class: "controls" }, field("ranked units", unitSelect), field("layer", traceSelect),
        field("signal", signalSelect), field("unit", unitNumber)),
      about,
      el("div", { class: "legend" }, "low", el("span", { class: "ramp" }), "high",
        el("span", { text: " (gates: 0 \u2026 1; c: scaled to its largest |value| here)" })),
      el("div", { class: "inside" }, chars, next)),
  );

  let current = null; // the last /inspect answer
  let text = "";
  let controller = null;

  function options() {
    const body = { model: model.name, prompt: prompt.value };
    for (const [key, input] of Object.entries(inputs)) {
      if (input.value !== "") body[key] = Number(input.value);
    }
    return body;
  }

  async function run() {
    generate.disabled = true;
    stop.disabled = false;
    controller = new AbortController();
    promptShown.textContent = prompt.value;
    generated.textContent = "";
    finish.textContent = "";
    try {
      const result = await streamGenerate(options(), (event) => {
        generated.textContent += event.text;
      }, controller.signal);
      generated.textContent = result.text;
      finish.textContent = `${result.tokens.length} tokens \u00b7 finish: ${result.finish_reason}` +
        ` \u00b7 seed ${result.seed}`;
      text = prompt.value + result.text;
      await inspect({});
    } catch (err) {
      if (err.name !== "AbortError") status(err.message, true);
    } finally {
      generate.disabled = false;
      stop.disabled = true;
    }
  }

  async function inspect(pick) {
    const sent = text.slice(-MAX_INSPECT);
    if (!sent) return;
    const body = { model: model.name, text: sent, top_k: 8, top_units: 40, ...pick };
    try {
      current = await postJSON("/inspect", body);
      status("");
    } catch (err) {
      status(err.message, true);
      return;
    }
    fillPickers(current);
    draw(current);
  }

  function fillPickers(r) {
    const sel = r.selected;
    unitSelect.replaceChildren(...r.units.map((u, k) => el("option", {
      value: k, selected: u.trace === sel.trace && u.unit === sel.unit && u.signal === sel.signal,
      text: `${u.trace} ${u.signal} #${u.unit} \u00b7 ${u.feature} r=${u.r >= 0 ? "+" : ""}` +
        `${u.r.toFixed(2)} \u00b7 sat ${(100 * u.saturation).toFixed(0)}%`,
    })));
    if (!r.units.length) unitSelect.append(el("option", { text: "(no unit follows a feature here)" }));
    traceSelect.replaceChildren(...r.traces.map((t) => el("option", {
      value: t.name, selected: t.name === sel.trace, text: `${t.name} (${t.cell}, ${t.size})` })));
    const trace = r.traces.find((t) => t.name === sel.trace);
    signalSelect.replaceChildren(...trace.signals.map((s) => el("option", {
      value: s, selected: s === sel.signal, text: `${s}: ${SIGNALS[s] || s}` })));
    unitNumber.value = sel.unit;
    unitNumber.max = trace.size - 1;
  }

  function draw(r) {
    const sel = r.selected;
    const values = sel.values[0];
    const scale = scaler(sel.signal, values);
    const spans = r.tokens.map((token, i) => el("span", {
      class: "ch", "data-i": i, style: `background: ${diverging(scale(values[i]))}`,
    }, token === "\n" ? "\u21b5\n" : token));
    chars.replaceChildren(...spans);
    const ranked = r.units.find((u) => u.trace === sel.trace && u.unit === sel.unit);
    about.textContent = `${sel.trace} \u00b7 ${SIGNALS[sel.signal] || sel.signal} of unit ` +
      `#${sel.unit}` + (ranked ? ` \u00b7 follows ${ranked.feature} (r = ${ranked.r.toFixed(2)})` : "") +
      ` \u00b7 ${r.tokens.length} tokens`;
  }

  function hover(i) {
    if (!current || !current.top_k) return;
    chars.querySelectorAll(".ch.hover").forEach((n) => n.classList.remove("hover"));
    chars.children[i].classList.add("hover");
    const sel = current.selected;
    const rows = current.top_k.tokens[i].map((t, k) => [alone(t), current.top_k.probs[i][k]]);
    next.replaceChildren(
      el("h3", { text: `after \u201c${alone(current.tokens[i])}\u201d (token ${i})` }),
      el("p", { class: "note", text: `${sel.signal} #${sel.unit} = ${sel.values[0][i]}` }),
      bars(rows));
  }

  chars.addEventListener("mouseover", (event) => {
    const target = event.target.closest(".ch");
    if (target) hover(Number(target.dataset.i));
  });
  generate.addEventListener("click", run);
  stop.addEventListener("click", () => controller && controller.abort());
  inspectButton.addEventListener("click", () => { // any text, without generating
    promptShown.textContent = text = prompt.value;
    generated.textContent = finish.textContent = "";
    inspect({});
  });
  unitSelect.addEventListener("change", () => {
    const u = current && current.units[Number(unitSelect.value)];
    if (u) inspect({ trace: u.trace, signal: u.signal, unit: u.unit });
  });
  traceSelect.addEventListener("change", () => inspect({ trace: traceSelect.value, unit: 0 }));
  signalSelect.addEventListener("change", () => inspect({
    trace: current.selected.trace, signal: signalSelect.value, unit: current.selected.unit }));
  unitNumber.addEventListener("change", () => inspect({
    trace: current.selected.trace, signal: current.selected.signal, unit: Number(unitNumber.value) }));
}
