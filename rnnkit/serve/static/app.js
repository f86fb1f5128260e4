// The page: one tab per served model (from GET /info) and a panel with the model's config.
import { getJSON } from "./api.js";
import { el, status } from "./shade.js";
import { lmTab } from "./lm.js";
import { classifierTab, embedTab, summarizerTab, taggerTab, translatorTab } from "./tasks.js";

const TABS = { lm: lmTab, classify: classifierTab, tag: taggerTab, translate: translatorTab,
  summarize: summarizerTab, bilm: embedTab };
const TASKS = { lm: "language model", classify: "classifier", tag: "tagger",
  translate: "translator", summarize: "summarizer", bilm: "biLM" };

function shown(value) {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

/** The side panel: what the model is and which path each recurrent layer runs. */
function describe(model) {
  const rows = (entries) => el("dl", {}, entries.map(([k, v]) => [el("dt", { text: k }),
    el("dd", { text: shown(v) })]));
  const facts = [["task", TASKS[model.task] || model.task], ["type", model.model_type],
    ["parameters", model.parameters.toLocaleString("en")], ["vocabulary", model.vocab_size]];
  document.getElementById("info-body").replaceChildren(
    el("h3", { text: model.name }), rows(facts),
    el("h3", { text: "layer backends" }), rows(Object.entries(model.backend)),
    el("h3", { text: "config" }), rows(Object.entries(model.config)));
}

function select(models, name) {
  for (const button of document.querySelectorAll("#tabs button")) {
    button.setAttribute("aria-selected", String(button.dataset.model === name));
  }
  for (const panel of document.querySelectorAll("#panels > .panel")) {
    panel.hidden = panel.dataset.model !== name;
  }
  describe(models.find((m) => m.name === name));
  history.replaceState(null, "", `#${encodeURIComponent(name)}`);
}

async function main() {
  let info;
  try {
    info = await getJSON("/info");
  } catch (err) {
    status(`GET /info failed: ${err.message}`, true);
    return;
  }
  const tabs = document.getElementById("tabs");
  const panels = document.getElementById("panels");
  panels.replaceChildren();
  for (const model of info.models) {
    const panel = el("div", { class: "panel", role: "tabpanel", "data-model": model.name,
      "data-task": model.task, hidden: true });
    (TABS[model.task] || (() => panel.append(el("p", { class: "note",
      text: `No view for ${model.task} models.` }))))(panel, model);
    panels.append(panel);
    tabs.append(el("button", { role: "tab", "data-model": model.name,
      onclick: () => select(info.models, model.name) }, model.name,
    el("small", { text: TASKS[model.task] || model.task })));
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = info.models.find((m) => m.name === wanted) || info.models[0];
  if (first) select(info.models, first.name);
}

main();
