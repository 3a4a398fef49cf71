/*
 * The alarms board: the city's alarms (by default the open ones), filtered on
 * the server by state, type and severity and here by asset code, sorted by any
 * column, kept live from the alarm stream (new and changed rows are flagged).
 * A cabinet's supply loss is one incident row with its held lights under it.
 * Operators acknowledge, note, close, or make a work order in one step.
 */

import { STATE_WORDS, TYPES, typeWords } from "../alarmwords.js";
import { askNote } from "../alarmask.js";
import { explain } from "../api.js";
import { SEVERITIES, SEVERITY_ORDER, ago, badge, field, h, heading, when } from "../ui.js";

export const title = "Alarms";

const PAGE_SIZE = 200;
const OUTAGE = "supplyLoss";
const STATE_FILTERS = [
  { key: "open", label: "Open (raised, acknowledged)", states: ["raised", "acknowledged"] },
  { key: "active", label: "Open and cleared", states: ["raised", "acknowledged", "cleared"] },
  { key: "raised", label: "Raised, not taken", states: ["raised"] },
  { key: "acknowledged", label: "Acknowledged", states: ["acknowledged"] },
  { key: "cleared", label: "Cleared, to close", states: ["cleared"] },
  { key: "closed", label: "Closed", states: ["closed"] },
];
const time = (iso) => Date.parse(iso);
const COLUMNS = [
  { key: "severity", label: "Severity", value: (a) => SEVERITY_ORDER[a.severity] ?? 9 },
  { key: "type", label: "Type", value: (a) => typeWords(a.type).toLowerCase() },
  { key: "asset", label: "Asset", value: (a) => a.asset || a.device || "" },
  { key: "message", label: "Message" },
  { key: "raised_at", label: "Raised", value: (a) => -time(a.raised_at) }, // ascending = newest first
  { key: "state", label: "State" },
  { key: "acknowledged_by", label: "Acknowledged by" },
];
const capital = (word) => word.charAt(0).toUpperCase() + word.slice(1);

export async function render(root, ctx) {
  const stop = new AbortController();
  const city = encodeURIComponent(ctx.city);
  const path = (...rest) => [`/cities/${city}/alarms`, ...rest].join("/");
  const operator = ctx.may("operator");

  const alarms = new Map(); // id -> alarm, the board's top rows
  const flags = new Map(); // id -> "New" | "Changed", since the page opened
  const held = new Map(); // outage id -> [alarms held under it]
  const expanded = new Set(); // outage ids shown open
  let nextBefore = null;
  let loading = 0; // the latest load's ticket
  let sort = { key: "severity", ascending: true };

  const stateSelect = h("select", {}, ...STATE_FILTERS.map((f) => h("option", { value: f.key }, f.label)));
  const typeSelect = h("select", {}, h("option", { value: "" }, "Any type"), ...TYPES.map(([k, w]) => h("option", { value: k }, w)));
  const severitySelect = h("select", {}, h("option", { value: "" }, "Any severity"), ...SEVERITIES.map((s) => h("option", { value: s }, capital(s))));
  const codeInput = h("input", { type: "search", autocomplete: "off", spellcheck: "false", maxlength: 64 });
  const counted = h("p", { class: "hint", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load older alarms");
  const headRow = h("tr");
  const body = h("tbody");
  const table = h(
    "table",
    { class: "alarms" },
    h("caption", { class: "visually-hidden" }, "Alarms of the city"),
    h("thead", {}, headRow),
    body,
  );

  const filterStates = () => STATE_FILTERS.find((f) => f.key === stateSelect.value).states;
  function matches(a) {
    return (
      !a.held &&
      filterStates().includes(a.state) &&
      (!typeSelect.value || a.type === typeSelect.value) &&
      (!severitySelect.value || a.severity === severitySelect.value)
    );
  }
  const codeMatches = (a) => {
    const wanted = codeInput.value.trim().toLowerCase();
    return !wanted || (a.asset || a.device || "").toLowerCase().includes(wanted);
  };

  function drawHead() {
    headRow.replaceChildren(
      ...COLUMNS.map((c) => {
        if (!c.value) return h("th", { scope: "col" }, c.label);
        const sorted = sort.key === c.key;
        const arrow = sorted ? (sort.ascending ? " ▲" : " ▼") : "";
        return h(
          "th",
          { scope: "col", "aria-sort": sorted ? (sort.ascending ? "ascending" : "descending") : null },
          h("button", { type: "button", onclick: () => sortBy(c.key) }, c.label, h("span", { "aria-hidden": "true" }, arrow)),
        );
      }),
      ...(operator ? [h("th", { scope: "col" }, "Actions")] : []),
    );
  }

  function sortBy(key) {
    sort = { key, ascending: sort.key === key ? !sort.ascending : true };
    draw();
  }

  function assetCell(a) {
    if (a.asset_id === null) return a.device || "–";
    return h("a", { href: ctx.link("/c/:city/assets/:id", { city: ctx.city, id: a.asset_id }) }, a.asset || `#${a.asset_id}`);
  }

  function row(a, under = null) {
    const flag = flags.get(a.id);
    const children = held.get(a.id);
    let toggle = null;
    if (a.type === OUTAGE && children?.length) {
      const open = expanded.has(a.id);
      toggle = h(
        "button",
        {
          type: "button",
          class: "btn btn-small heldtoggle",
          "aria-expanded": String(open),
          onclick: () => {
            if (open) expanded.delete(a.id);
            else expanded.add(a.id);
            draw();
            body.querySelector(`tr[data-alarm="${a.id}"] .heldtoggle`)?.focus();
          },
        },
        h("span", { "aria-hidden": "true" }, open ? "▾ " : "▸ "),
        `${children.length} held light${children.length === 1 ? "" : "s"}`,
      );
    }
    return h(
      "tr",
      {
        class: [flag === "New" ? "is-new" : "", under ? "heldrow" : "", a.type === OUTAGE ? "outage" : ""].join(" ").trim() || null,
        dataset: { alarm: a.id, state: a.state, severity: a.severity, type: a.type, ...(under ? { parent: under } : {}) },
      },
      h("td", {}, under ? h("span", { class: "indent", "aria-hidden": "true" }, "↳ ") : null, badge(a.severity, capital(a.severity))),
      h("td", {}, typeWords(a.type)),
      h("td", {}, assetCell(a)),
      h("td", {}, h("span", {}, a.message), toggle ? h("div", {}, toggle) : null),
      h("td", {}, h("time", { datetime: a.raised_at, title: when(a.raised_at) }, ago(a.raised_at))),
      h(
        "td",
        { class: "statecell" },
        a.held ? "Held, " : "",
        STATE_WORDS[a.state] || a.state,
        flag ? h("span", { class: "flag" }, flag) : null,
      ),
      h("td", {}, a.acknowledged_by || "–"),
      operator ? h("td", {}, under ? null : actions(a)) : null,
    );
  }

  function actions(a) {
    const named = (text) => [text, h("span", { class: "visually-hidden" }, ` alarm ${a.id}`)];
    const button = (text, onclick, primary = false) =>
      h("button", { type: "button", class: `btn btn-small${primary ? " btn-primary" : ""}`, onclick }, ...named(text));
    return h(
      "div",
      { class: "actions" },
      a.state === "raised" ? button("Acknowledge", () => step(a, "acknowledge"), true) : null,
      a.state !== "closed" ? button("Note", () => step(a, "notes")) : null,
      a.state === "cleared" ? button("Close", () => step(a, "close")) : null,
      a.state === "raised" || a.state === "acknowledged"
        ? button("Work order", (event) => workOrder(a, event.currentTarget))
        : null,
    );
  }

  const STEPS = {
    acknowledge: { title: "Acknowledge", label: "Note (optional)", action: "Acknowledge", done: "acknowledged" },
    notes: { title: "Add a note to", label: "Note", action: "Add the note", done: "noted", required: true },
    close: { title: "Close", label: "Note (optional)", action: "Close the alarm", done: "closed" },
  };

  async function step(a, name) {
    const how = STEPS[name];
    const note = await askNote(root, {
      title: `${how.title} alarm #${a.id}: ${typeWords(a.type)} on ${a.asset || a.device || "no asset"}`,
      label: how.label,
      action: how.action,
      required: how.required,
    });
    if (note === null) return;
    ctx.say("Saving…", "busy");
    try {
      const body = note || how.required ? { note } : {};
      put(await ctx.api(path(a.id, name), { method: "POST", body }));
      ctx.say(`Alarm #${a.id} ${how.done}.`, "ok");
    } catch (err) {
      ctx.say(explain(err), "error");
    }
  }

  async function workOrder(a, button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    ctx.say(`Making a work order for alarm #${a.id}…`, "busy");
    try {
      const order = await ctx.api(`/cities/${city}/work-orders`, { method: "POST", body: { alarm: a.id } });
      ctx.say(`Work order #${order.id} made for alarm #${a.id}.`, "ok");
      location.hash = ctx.link("/c/:city/work-orders/:id", { city: ctx.city, id: order.id });
    } catch (err) {
      ctx.say(explain(err), "error");
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  /** Put an alarm as the server now has it on the board (a top row or a held light). */
  function put(a, flag = null) {
    for (const [outage, children] of held) {
      const at = children.findIndex((c) => c.id === a.id);
      if (at >= 0) children[at] = a;
      else if (outage === a.parent_id && a.held) children.push(a);
    }
    if (a.held) {
      draw();
      return;
    }
    if (alarms.has(a.id) || matches(a)) {
      if (flag && !(flags.get(a.id) === "New")) flags.set(a.id, alarms.has(a.id) ? flag : "New");
      alarms.set(a.id, a);
      if (a.type === OUTAGE && !held.has(a.id)) loadHeld([a.id]).then(draw);
    }
    draw();
  }

  function draw() {
    drawHead();
    const column = COLUMNS.find((c) => c.key === sort.key);
    const shown = [...alarms.values()].filter(codeMatches);
    shown.sort((x, y) => {
      const [p, q] = [column.value(x), column.value(y)];
      const order = p < q ? -1 : p > q ? 1 : 0;
      return (sort.ascending ? order : -order) || time(y.raised_at) - time(x.raised_at) || y.id - x.id;
    });
    const rows = [];
    for (const a of shown) {
      rows.push(row(a));
      if (expanded.has(a.id)) for (const child of held.get(a.id) || []) rows.push(row(child, a.id));
    }
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: COLUMNS.length + (operator ? 1 : 0) }, "No alarm matches.")));
    body.replaceChildren(...rows);
    const fresh = [...flags.values()].filter((f) => f === "New").length;
    counted.textContent = `${shown.length} of ${alarms.size} alarms shown${fresh ? `; ${fresh} new since the page opened` : ""}.`;
    more.hidden = nextBefore === null;
  }

  async function loadHeld(ids) {
    await Promise.all(
      ids.map(async (id) => {
        try {
          const page = await ctx.api(`${path()}?parent=${id}&held=true&limit=1000`, { signal: stop.signal });
          held.set(id, page.items);
        } catch (err) {
          if (err.name !== "AbortError") ctx.say(explain(err), "error");
        }
      }),
    );
  }

  async function load(older = false) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const s of filterStates()) query.append("state", s);
    if (typeSelect.value) query.set("type", typeSelect.value);
    if (severitySelect.value) query.set("severity", severitySelect.value);
    if (older && nextBefore !== null) query.set("before", String(nextBefore));
    const ticket = ++loading;
    ctx.say("Loading the alarms…", "busy");
    try {
      const page = await ctx.api(`${path()}?${query}`, { signal: stop.signal });
      if (ticket !== loading) return; // the filters changed meanwhile: a newer load answers
      if (!older) {
        alarms.clear();
        flags.clear();
        held.clear();
      }
      for (const a of page.items) alarms.set(a.id, a);
      nextBefore = page.next_before;
      await loadHeld(page.items.filter((a) => a.type === OUTAGE).map((a) => a.id));
      if (ticket !== loading) return;
      draw();
      ctx.say("");
    } catch (err) {
      if (err.name !== "AbortError") ctx.say(explain(err), "error");
    }
  }

  for (const control of [stateSelect, typeSelect, severitySelect]) control.addEventListener("change", () => load());
  codeInput.addEventListener("input", draw);
  more.addEventListener("click", () => load(true));

  const filters = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Filter the alarms", onsubmit: (e) => e.preventDefault() },
    field("State", stateSelect),
    field("Type", typeSelect),
    field("Severity", severitySelect),
    field("Asset code", codeInput, "Part of a code, e.g. SL-01"),
  );
  root.append(
    heading("Alarms", operator ? "Live. Take, note and close alarms, or send a crew." : "Live (read only)."),
    h("section", { class: "card", "aria-label": "Alarm list" }, filters, counted, h("div", { class: "tablewrap" }, table), more),
  );

  // Listen before the first load: an alarm raised meanwhile is put on the board either way.
  const unlisten = ctx.onAlarmEvent((event) => {
    if (event.alarm) put(event.alarm, "Changed");
  });
  await load();
  return () => {
    stop.abort();
    unlisten();
    for (const open of root.querySelectorAll("dialog[open]")) open.close();
  };
}
