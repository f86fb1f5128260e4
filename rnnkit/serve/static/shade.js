// Drawing helpers: elements, the diverging colour scale, probability bars, a heatmap.

/** Create an element: el("div", {class: "x", onclick: f}, child, "text", ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const WARM = [214, 78, 58];
const COOL = [47, 111, 223];

/** A background for x in [-1, 1]: blue below 0, red above, white at 0. */
export function diverging(x) {
  const v = Math.max(-1, Math.min(1, Number.isFinite(x) ? x : 0));
  const [r, g, b] = v >= 0 ? WARM : COOL;
  return `rgba(${r}, ${g}, ${b}, ${(Math.abs(v) * 0.85).toFixed(3)})`;
}

/** A background for w in [0, 1], shading up to `top` (the largest value shown). */
export function sequential(w, top = 1) {
  const v = top > 0 ? Math.max(0, Math.min(1, w / top)) : 0;
  return `rgba(${COOL[0]}, ${COOL[1]}, ${COOL[2]}, ${(v * 0.75).toFixed(3)})`;
}

const GATES = new Set(["i", "f", "o", "r", "z"]);

/**
 * Map a signal's values to [-1, 1]: gates (sigmoid, in [0, 1]) around 0.5, the cell state by
 * its largest magnitude in the text, h, g and n (tanh) as they are.
 */
export function scaler(signal, values) {
  if (GATES.has(signal)) return (v) => 2 * v - 1;
  if (signal === "c") {
    const top = Math.max(1e-6, ...values.map((v) => Math.abs(v)));
    return (v) => v / top;
  }
  return (v) => v;
}

/** Probability bars: rows of [name, p]; the first row marked as the best. */
export function bars(rows, { best = 0 } = {}) {
  const box = el("div", { class: "bars" });
  rows.forEach(([name, p], k) => {
    const bar = el("div", { class: "bar", style: `width: ${(100 * p).toFixed(1)}%` });
    const row = [el("span", { class: "name", text: name }), el("div", { class: "track" }, bar),
      el("span", { class: "value", text: p.toFixed(3) })];
    if (k === best) row.forEach((node) => node.classList.add("best"));
    box.append(...row);
  });
  return box;
}

/** A token as shown: newline and tab visible, spaces kept. */
export function visible(token) {
  return token.replace(/\n/g, "\u21b5").replace(/\t/g, "\u21e5");
}

/** A token standing alone (a candidate, a heading): blanks visible too, a space as \u2423. */
export function alone(token) {
  return visible(token).replace(/ /g, "\u2423");
}

/** A heatmap table: matrix[row][column] in [0, 1], with row and column labels. */
export function heatmap(matrix, rowLabels, columnLabels) {
  const head = el("tr", {}, el("th"), columnLabels.map((c) => el("th", { text: visible(c) })));
  const top = Math.max(1e-6, ...matrix.flat());
  const body = matrix.map((row, i) =>
    el("tr", {}, el("th", { text: visible(rowLabels[i] ?? "") }),
      row.map((w, j) => el("td", {
        style: `background: ${sequential(w, top)}`,
        title: `${visible(rowLabels[i] ?? "")} \u2190 ${visible(columnLabels[j] ?? "")}: ${w.toFixed(3)}`,
      }))));
  return el("table", { class: "heatmap" }, el("thead", {}, head), el("tbody", {}, body));
}

/** Show a message in the status line (an error in red). */
export function status(message, error = false) {
  const box = document.getElementById("status");
  box.textContent = message;
  box.classList.toggle("error", error);
}
