// The tabs of the other tasks: classifier, tagger, translator, summarizer, biLM embeddings.
import { postJSON } from "./api.js";
import { bars, el, heatmap, sequential, status, visible } from "./shade.js";

/** A section with a text box, a button and a result area; `act(text, result)` fills it. */
function form(panel, title, example, button, act, extra = []) {
  const input = el("textarea", { class: "input", rows: 4, "aria-label": title });
  input.value = example;
  const go = el("button", { class: "primary run", text: button });
  const result = el("div", { class: "result" });
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      await act(input.value, result);
      status("");
    } catch (err) {
      status(err.message, true);
    } finally {
      go.disabled = false;
    }
  });
  panel.append(el("section", {}, el("h2", { text: title }), input,
    el("div", { class: "controls" }, extra, go), result));
  return go;
}

function numberField(label, value, attrs = {}) {
  const input = el("input", { type: "number", value, ...attrs });
  return [el("label", {}, label, input), input];
}

/** Label probabilities as bars; the words shaded by their attention-pooling weight. */
export function classifierTab(panel, model) {
  form(panel, "Classify", "a superb film with a great plot", "Classify", async (text, out) => {
    const r = await postJSON("/inspect", { model: model.name, text, top_units: 0 });
    const rows = Object.entries(r.probabilities).sort((a, b) => b[1] - a[1]);
    const top = r.pooling ? Math.max(...r.pooling) : 0;
    const words = r.tokens.map((t, i) => el("span", {
      class: "word", title: r.pooling ? `weight ${r.pooling[i].toFixed(3)}` : null,
      style: r.pooling ? `background: ${sequential(r.pooling[i], top)}` : null,
    }, visible(t)));
    out.replaceChildren(
      el("h3", { text: `label: ${r.labels.join(", ") || "(none over 0.5)"}` }), bars(rows),
      el("h3", { text: "what the pooling looked at" }), el("div", { class: "words" }, words),
      el("p", { class: "note", text: r.pooling
        ? "Each word shaded by its attention-pooling weight (darkest: the largest)."
        : `This model pools with "${r.pooling_mode}": it has no per-word weights to show.` }));
  });
}

const PALETTE = ["#f6c8b9", "#bcd7f5", "#c8ebc5", "#f3e1a6", "#dccaf0", "#f2c4dc", "#c5e8e8"];

/** The text with its entity spans coloured by type (or a tag under each token). */
export function taggerTab(panel, model) {
  const colours = new Map();
  const colour = (type) => {
    if (!colours.has(type)) colours.set(type, PALETTE[colours.size % PALETTE.length]);
    return colours.get(type);
  };
  form(panel, "Tag", "John lives in Paris .", "Tag", async (text, out) => {
    const r = (await postJSON("/tag", { model: model.name, texts: [text] })).results[0];
    const line = el("div", { class: "tagged" });
    if (r.spans.length) {
      let k = 0;
      for (const span of r.spans) {
        for (; k < span.start; k++) line.append(el("span", { class: "token", text: r.tokens[k] }), " ");
        line.append(el("span", { class: "entity", style: `background: ${colour(span.type)}` },
          span.text, el("small", { text: span.type })), " ");
        k = span.end;
      }
      for (; k < r.tokens.length; k++) line.append(el("span", { class: "token", text: r.tokens[k] }), " ");
    } else {
      r.tokens.forEach((t, i) => line.append(el("span", { class: "entity",
        style: `background: ${colour(r.tags[i])}` }, t, el("small", { text: r.tags[i] })), " "));
    }
    out.replaceChildren(line, el("p", { class: "note", text: `tags: ${r.tags.join(" ")}` }));
  });
}

/** The translation, the n-best list and the attention heatmap (target x source). */
export function translatorTab(panel, model) {
  const [beamLabel, beam] = numberField("beam", 4, { min: 1, max: 16 });
  const [nLabel, nBest] = numberField("n-best", 3, { min: 1, max: 16 });
  form(panel, "Translate", "open the file", "Translate", async (text, out) => {
    const body = { model: model.name, texts: [text], beam: Number(beam.value),
      n_best: Math.min(Number(nBest.value), Number(beam.value)), attention: true };
    const r = (await postJSON("/translate", body)).results[0];
    const list = el("ol", { class: "nbest" }, r.n_best.map((h) =>
      el("li", {}, h.text, el("span", { class: "score", text: h.score.toFixed(3) }))));
    const parts = [el("h3", { text: "translation" }), el("p", { class: "output", text: r.text }),
      el("h3", { text: "n-best" }), list];
    if (r.attention) {
      parts.push(el("h3", { text: "attention (rows: output tokens, columns: source tokens)" }),
        heatmap(r.attention, r.target_tokens, r.source_tokens));
    } else {
      parts.push(el("p", { class: "note", text: "This model has no attention to show." }));
    }
    out.replaceChildren(...parts);
  }, [beamLabel, nLabel]);
}

/** The document's sentences shaded by score, the picked ones marked. */
export function summarizerTab(panel, model) {
  const [label, budget] = numberField("sentences", "", { min: 1, placeholder: "model's" });
  const example = "The council met on Monday. It voted to build a new bridge. " +
    "Work starts in May. The old bridge will close.";
  form(panel, "Summarize", example, "Summarize", async (text, out) => {
    const body = { model: model.name, documents: [text] };
    if (budget.value !== "") body.max_sentences = Number(budget.value);
    const r = (await postJSON("/summarize", body)).results[0];
    const picked = new Set(r.picked);
    if (!r.picked.length && r.scores.every((x) => x === null)) { // an abstractive model
      out.replaceChildren(el("h3", { text: "summary (written by the model)" }),
        el("p", { class: "output", text: r.summary }),
        el("p", { class: "note", text: "This model writes its summary: it does not score sentences." }));
      return;
    }
    const rows = r.sentences.map((s, i) => el("div", {
      class: `sentence${picked.has(i) ? " picked" : ""}`,
      style: r.scores[i] === null ? null : `background: ${sequential(r.scores[i])}`,
    }, picked.has(i) ? "\u2713 " : "", s,
    el("span", { class: "score", text: r.scores[i] === null ? "(past the limit)" : r.scores[i].toFixed(3) })));
    out.replaceChildren(el("h3", { text: "summary" }), el("p", { text: r.summary }),
      el("h3", { text: "sentences by score" }), el("div", { class: "sentences" }, rows));
  }, [label]);
}

/** The contextual vectors of a biLM: their shape and each token's vector norm. */
export function embedTab(panel, model) {
  form(panel, "Embed", "the cat sat on the mat", "Embed", async (text, out) => {
    const r = (await postJSON("/embed", { model: model.name, texts: [text] })).results[0];
    const vectors = r.vectors;
    const norms = vectors.map((v) => Math.hypot(...v.flat(Infinity)));
    const top = Math.max(1e-6, ...norms);
    const rows = r.tokens.map((t, i) => [t, (norms[i] || 0) / top]);
    out.replaceChildren(el("p", { class: "note", text:
      "Each token's vector length, relative to the longest (POST /embed gives the vectors)." }), bars(rows, { best: -1 }));
  });
}
