/*
 * The city's work orders: filtered by state, crew and past due, sorted by any
 * column, each linking to its order. An operator makes one here: from an asset
 * code, for one of the asset's open alarms (so that done means fixed is judged
 * by its telemetry) or by hand with nothing raised.
 */

import { explain } from "../api.js";
import { field, h, heading, when } from "../ui.js";
import {
  PRIORITIES,
  PRIORITY_RANK,
  STATES,
  dueText,
  outcomeText,
  priorityBadge,
  stateBadge,
} from "../workorders.js";

export const title = "Work orders";

const STATE_RANK = Object.fromEntries(STATES.map((s, i) => [s.key, i]));
const COLUMNS = [
  { key: "id", label: "Order", value: (o) => o.id },
  { key: "asset", label: "Asset", value: (o) => o.asset },
  { key: "title", label: "Title", value: (o) => o.title.toLowerCase() },
  { key: "priority", label: "Priority", value: (o) => PRIORITY_RANK[o.priority] },
  { key: "state", label: "State", value: (o) => STATE_RANK[o.state] },
  { key: "crew", label: "Crew", value: (o) => o.crew || "" },
  { key: "due_at", label: "Due", value: (o) => o.due_at },
];

export async function render(root, ctx) {
  const stop = new AbortController();
  const city = encodeURIComponent(ctx.city);
  const stateSelect = h(
    "select",
    {},
    h("option", { value: "active" }, "Not done yet"),
    h("option", { value: "" }, "All"),
    ...STATES.map((s) => h("option", { value: s.key }, s.label)),
  );
  const crewInput = h("input", { type: "search", autocomplete: "off", list: "wo-crews", maxlength: 64 });
  const crews = h("datalist", { id: "wo-crews" });
  const pastDue = h("input", { type: "checkbox" });
  const counted = h("p", { class: "hint", "aria-live": "polite" });
  const body = h("tbody");
  let sort = { key: "due_at", ascending: true };
  let orders = [];

  const headRow = h("tr");
  const table = h("table", { class: "orders" }, h("caption", { class: "visually-hidden" }, "Work orders"), h("thead", {}, headRow), body);

  function drawHead() {
    headRow.replaceChildren(
      ...COLUMNS.map((c) => {
        const sorted = sort.key === c.key;
        const button = h("button", { type: "button", onclick: () => sortBy(c.key) }, c.label, sorted ? (sort.ascending ? " ▲" : " ▼") : "");
        return h("th", { scope: "col", "aria-sort": sorted ? (sort.ascending ? "ascending" : "descending") : null }, button);
      }),
      h("th", { scope: "col" }, "Outcome"),
    );
  }

  function sortBy(key) {
    sort = { key, ascending: sort.key === key ? !sort.ascending : true };
    draw();
  }

  function draw() {
    drawHead();
    const column = COLUMNS.find((c) => c.key === sort.key);
    const shown = orders.filter((o) => !pastDue.checked || o.past_due);
    shown.sort((a, b) => {
      const [x, y] = [column.value(a), column.value(b)];
      const order = x < y ? -1 : x > y ? 1 : a.id - b.id;
      return sort.ascending ? order : -order;
    });
    body.replaceChildren(
      ...shown.map((o) =>
        h(
          "tr",
          { dataset: { order: o.id, state: o.state } },
          h("td", {}, h("a", { href: ctx.link("/c/:city/work-orders/:id", { city: ctx.city, id: o.id }) }, `#${o.id}`)),
          h("td", {}, o.asset),
          h("td", {}, o.title),
          h("td", {}, priorityBadge(o.priority)),
          h("td", {}, stateBadge(o.state)),
          h("td", {}, o.crew || "nobody yet"),
          h("td", {}, dueText(o)),
          h("td", {}, outcomeText(o) || ""),
        ),
      ),
    );
    if (!shown.length) body.append(h("tr", {}, h("td", { colspan: COLUMNS.length + 1 }, "No work order matches.")));
    counted.textContent = `${shown.length} of ${orders.length} work orders shown.`;
  }

  async function load() {
    const query = new URLSearchParams({ limit: "500" });
    const state = stateSelect.value;
    if (state === "active") for (const s of ["open", "assigned", "in_progress"]) query.append("state", s);
    else if (state) query.append("state", state);
    if (crewInput.value.trim() && ctx.may("operator")) query.set("crew", crewInput.value.trim());
    ctx.say("Loading the work orders…", "busy");
    try {
      const page = await ctx.api(`/cities/${city}/work-orders?${query}`, { signal: stop.signal });
      orders = page.items;
      const names = new Set(orders.map((o) => o.crew).filter(Boolean));
      for (const option of crews.options) names.add(option.value);
      crews.replaceChildren(...[...names].sort().map((n) => h("option", { value: n })));
      draw();
      ctx.say("");
    } catch (err) {
      if (err.name !== "AbortError") ctx.say(explain(err), "error");
    }
  }

  for (const control of [stateSelect, crewInput]) control.addEventListener("change", load);
  pastDue.addEventListener("change", draw);

  const filters = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Filter the work orders", onsubmit: (e) => (e.preventDefault(), load()) },
    field("State", stateSelect),
    ctx.may("operator") ? field("Crew member", crewInput) : null,
    h("div", { class: "field checkfield" }, h("label", {}, pastDue, " Past due only")),
    crews,
  );
  root.append(
    ...[
    heading("Work orders", ctx.may("operator") ? "Every order of the city." : ctx.role === "crew" ? "The orders assigned to you." : "Every order of the city (read only)."),
    ctx.may("operator") ? createForm(ctx, stop.signal) : null,
    h("section", { class: "card", "aria-label": "Work order list" }, filters, counted, h("div", { class: "tablewrap" }, table)),
    ].filter(Boolean),
  );
  await load();
  return () => stop.abort();
}

/** The operator's form: asset code, then one of its open alarms or by hand, title, priority. */
function createForm(ctx, signal) {
  const city = encodeURIComponent(ctx.city);
  const code = h("input", { autocomplete: "off", required: true, maxlength: 64, spellcheck: "false" });
  const titleInput = h("input", { maxlength: 200 });
  const priority = h("select", {}, h("option", { value: "" }, "As the alarm's severity"), ...PRIORITIES.map((p) => h("option", { value: p }, p)));
  const reasons = h("fieldset", { class: "reasons", hidden: true }, h("legend", {}, "What is it for"));
  const found = h("p", { class: "hint", "aria-live": "polite" });
  const error = h("p", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: "btn btn-primary" }, "Make the work order");
  let asset = null; // {id, code}
  let lookedUp = "";
  let pending = null;

  // One look-up per code at a time: the field's change and the form's submit share it.
  function lookUp() {
    const wanted = code.value.trim();
    if (wanted !== lookedUp || !pending) {
      lookedUp = wanted;
      pending = find(wanted).catch((err) => {
        pending = null;
        throw err;
      });
    }
    return pending;
  }

  async function find(wanted) {
    asset = null;
    reasons.hidden = true;
    found.textContent = "";
    if (!wanted) return null;
    const page = await ctx.api(`/cities/${city}/assets?code=${encodeURIComponent(wanted)}&limit=1`, { signal });
    const hit = page.items.find((a) => a.code.toLowerCase() === wanted.toLowerCase()) || page.items[0];
    if (!hit) {
      found.textContent = `No asset with the code ${wanted}.`;
      return null;
    }
    asset = { id: hit.id, code: hit.code };
    const alarms = await ctx.api(`/cities/${city}/alarms?asset=${encodeURIComponent(hit.code)}&limit=20`, { signal });
    const options = alarms.items.map((a, i) =>
      h("label", { class: "radio" }, h("input", { type: "radio", name: "wo-reason", value: a.id, checked: i === 0 }), ` Alarm #${a.id}: ${a.type}, ${a.severity}, ${a.state}, raised ${when(a.raised_at)}`),
    );
    options.push(h("label", { class: "radio" }, h("input", { type: "radio", name: "wo-reason", value: "", checked: !alarms.items.length }), " By hand: no alarm to wait for"));
    reasons.replaceChildren(h("legend", {}, "What is it for"), ...options);
    reasons.hidden = false;
    found.textContent = `${hit.code} (${hit.kind}): ${alarms.items.length ? `${alarms.items.length} open alarm(s)` : "no open alarm"}.`;
    return asset;
  }

  code.addEventListener("change", () => lookUp().catch((err) => err.name !== "AbortError" && (error.textContent = explain(err))));

  const form = h(
    "form",
    { class: "card createform", "aria-labelledby": "wo-new" },
    h("h2", { id: "wo-new" }, "New work order"),
    h(
      "div",
      { class: "toolbar" },
      field("Asset code", code, "A pole or cabinet code, e.g. SL-001"),
      field("Title", titleInput, "Needed by hand; from an alarm it says what the alarm is"),
      field("Priority", priority),
      // The button stays where it is when the asset's alarms appear under the fields.
      h("div", { class: "field" }, button),
    ),
    found,
    reasons,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = "Making it…";
    try {
      const target = await lookUp();
      if (!target) {
        error.textContent = found.textContent || "Give an asset code.";
        return;
      }
      const alarm = form.querySelector('input[name="wo-reason"]:checked')?.value;
      const body = {};
      if (alarm) body.alarm = Number(alarm);
      else {
        body.asset = target.id;
        if (!titleInput.value.trim() || !priority.value) {
          error.textContent = "By hand, give a title and a priority.";
          return;
        }
      }
      if (titleInput.value.trim()) body.title = titleInput.value.trim();
      if (priority.value) body.priority = priority.value;
      const order = await ctx.api(`/cities/${city}/work-orders`, { method: "POST", body });
      ctx.say(`Work order #${order.id} made.`, "ok");
      location.hash = ctx.link("/c/:city/work-orders/:id", { city: ctx.city, id: order.id });
    } catch (err) {
      if (err.name !== "AbortError") error.textContent = explain(err);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = "Make the work order";
    }
  });
  return form;
}

