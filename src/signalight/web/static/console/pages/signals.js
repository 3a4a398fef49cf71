/*
 * The city's traffic signals: every intersection with what its cabinet
 * monitor says now (flash, dark, conflict, door open, on battery, silent or
 * normal), the phases green, and its open alarms; problems first. Read again
 * a moment after each alarm event of the city and every 15 seconds while the
 * tab is seen. Also the words and colours of an intersection's state and the
 * city's wall clock, which the intersection's own page (signal.js) shares.
 */

import { explain } from "../api.js";
import { SEVERITY_ORDER, ago, badge, field, h, heading } from "../ui.js";

export const title = "Traffic signals";

const POLL_MS = 15_000;
const REREAD_AFTER_EVENT_MS = 1500; // alarm events come in bursts: one read per burst

/** The intersections' list address, and one intersection's page. */
export const listPath = "/c/:city/signals";
export const pagePath = "/c/:city/signals/:id"; // :id is the code: the switcher then goes home

/** The worst severity of an intersection's open alarms, or null. */
export function worstSeverity(alarms) {
  let worst = null;
  for (const a of alarms || []) {
    if (worst === null || (SEVERITY_ORDER[a.severity] ?? 9) < (SEVERITY_ORDER[worst] ?? 9)) worst = a.severity;
  }
  return worst;
}

/**
 * What an intersection is in one or two words, the badge's colour key, and
 * its rank (0 is the worst). The badge takes the colour of the worst open
 * alarm; with none, green for normal, the silent colour for a silent monitor.
 */
export function stateOf(i) {
  const words = [];
  if (i.silent_s !== null && i.silent_s !== undefined) words.push("Silent");
  if (i.mmu === "conflict") words.push(i.mode === "flash" ? "Conflict flash" : "Conflict");
  else if (i.mode === "flash") words.push("Flash");
  if (i.mode === "dark") words.push("Dark");
  if (i.mmu === "red_fail") words.push("Red lamp failure");
  else if (i.mmu && i.mmu !== "ok" && i.mmu !== "conflict") words.push(`MMU ${i.mmu.replaceAll("_", " ")}`);
  if (i.mode === "manual") words.push("Manual control");
  if (i.mode === "preempt") words.push("Preempted");
  if (i.door === "open") words.push("Door open");
  if (i.mains === false) words.push(i.mode === "dark" ? "Mains lost" : "On battery");
  const observed = Boolean(i.observed_at);
  const severity = worstSeverity(i.alarms);
  const normal = observed && words.length === 0;
  if (!observed) words.push(i.device ? "No report yet" : "No monitor");
  else if (normal) words.push("Normal", ...(severity ? ["alarm open"] : []));
  let key;
  if (severity) key = severity;
  else if (normal) key = "working";
  else if (!observed) key = "unknown";
  else if (words[0] === "Silent") key = "silent";
  else key = "sig-notice"; // not normal, yet no alarm: an authorised door, a manual run
  const problem = Boolean(severity) || (observed && !normal);
  let rank = 20;
  if (severity) rank = SEVERITY_ORDER[severity] ?? 4;
  else if (problem) rank = words[0] === "Silent" ? 6 : 5;
  else if (!observed) rank = 30; // nothing reports: nothing to watch yet
  return { words, text: words.slice(0, 2).join(", "), key, problem, rank };
}

/** The badge of an intersection's state: its colour and its words, never colour alone. */
export function stateBadge(i) {
  const state = stateOf(i);
  return badge(state.key, state.text);
}

/** "2 and 6", "none". */
export function phasesText(phases) {
  if (!phases?.length) return "none";
  return phases.length === 1 ? String(phases[0]) : `${phases.slice(0, -1).join(", ")} and ${phases.at(-1)}`;
}

/*
 * The city's wall clock, for a window's times typed on an intersection's page:
 * the city's zone, not the browser's, since an operator may sit elsewhere.
 */
/** The parts of an instant's wall time in a zone: {year, month, day, hour, minute, second}. */
function wallParts(ms, zone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  return Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** How far the zone's wall clock is ahead of UTC at an instant, in ms. */
function zoneOffset(ms, zone) {
  const p = wallParts(ms, zone);
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
}

/** "2026-12-03T15:30" (a datetime-local value) of an instant, on the zone's wall clock. */
export function wallValue(ms, zone) {
  const p = wallParts(ms, zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** The instant of a datetime-local value read on the zone's wall clock (not the browser's). */
export function fromWall(value, zone) {
  const [date, time] = value.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const first = wall - zoneOffset(wall, zone);
  return new Date(wall - zoneOffset(first, zone)); // again at the instant itself, across a change of offset
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

const SORTS = [
  { key: "problem", label: "Problems first", compare: (a, b) => a.state.rank - b.state.rank || b.i.alarms.length - a.i.alarms.length },
  { key: "code", label: "Code", compare: () => 0 },
  { key: "name", label: "Name", compare: (a, b) => a.i.name.localeCompare(b.i.name) },
  { key: "alarms", label: "Most open alarms", compare: (a, b) => b.i.alarms.length - a.i.alarms.length },
];
const SHOWS = [
  { key: "all", label: "All", keep: () => true },
  { key: "problem", label: "With a problem", keep: (s) => s.problem },
  { key: "normal", label: "Normal", keep: (s) => !s.problem },
];

export async function render(root, ctx) {
  const stop = new AbortController();
  const city = encodeURIComponent(ctx.city);
  const sortSelect = h("select", {}, ...SORTS.map((s) => h("option", { value: s.key }, s.label)));
  const showSelect = h("select", {}, ...SHOWS.map((s) => h("option", { value: s.key }, s.label)));
  const search = h("input", { type: "search", autocomplete: "off", spellcheck: "false", maxlength: 64 });
  const counted = h("p", { class: "hint", id: "signals-count", "aria-live": "polite" });
  const asOf = h("p", { class: "hint", id: "signals-as-of" });
  const list = h("ul", { class: "siglist", id: "signals-list", "aria-label": "Intersections" });
  let rows = [];
  let readAt = null;

  function card(i, state) {
    const href = ctx.link(pagePath, { city: ctx.city, id: i.code });
    const count = i.alarms.length;
    return h(
      "li",
      { class: `card sigcard${state.problem ? " is-problem" : ""}`, dataset: { code: i.code, state: state.key } },
      h("h2", {}, h("a", { href }, i.code), h("span", { class: "signame" }, i.name || i.street || "")),
      h("p", { class: "sigstate" }, badge(state.key, state.text)),
      h("p", { class: "signow" }, i.now),
      h(
        "dl",
        { class: "sigfacts" },
        h("dt", {}, "Green"), h("dd", { class: "siggreen" }, phasesText(i.green)),
        h("dt", {}, "Open alarms"), h("dd", { class: "sigalarms" }, count ? h("strong", {}, String(count)) : "0"),
        h("dt", {}, "Reported"), h("dd", {}, i.observed_at ? ago(i.observed_at) : "never"),
      ),
    );
  }

  function draw() {
    const wanted = search.value.trim().toLowerCase();
    const sort = SORTS.find((s) => s.key === sortSelect.value);
    const keep = SHOWS.find((s) => s.key === showSelect.value).keep;
    const all = rows.map((i) => ({ i, state: stateOf(i) }));
    const shown = all
      .filter(({ i, state }) => keep(state) && (!wanted || `${i.code} ${i.name}`.toLowerCase().includes(wanted)))
      .sort((a, b) => sort.compare(a, b) || a.i.code.localeCompare(b.i.code));
    // A redraw every 15 s must not take the keyboard's place away.
    const focused = list.contains(document.activeElement) ? document.activeElement.closest("li")?.dataset.code : null;
    list.replaceChildren(...shown.map(({ i, state }) => card(i, state)));
    if (!shown.length) list.append(h("li", { class: "card muted" }, rows.length ? "No intersection matches." : "This city has no intersection."));
    if (focused) list.querySelector(`li[data-code="${CSS.escape(focused)}"] a`)?.focus();
    const problems = all.filter((r) => r.state.problem).length;
    const text = `${plural(all.length, "intersection")}: ${problems} with a problem, ${shown.length} shown.`;
    if (counted.textContent !== text) counted.textContent = text; // said again only when it changes
    asOf.textContent = readAt ? `Read at ${readAt.toLocaleTimeString("en-GB")}; read again after each alarm and every 15 s.` : "";
  }

  let failed = false;
  async function load() {
    try {
      rows = await ctx.api(`/cities/${city}/intersections`, { signal: stop.signal });
      readAt = new Date();
      draw();
      if (failed) ctx.say("");
      failed = false;
    } catch (err) {
      if (err.name === "AbortError") return;
      failed = true;
      ctx.say(explain(err), "error");
    }
  }

  for (const control of [sortSelect, showSelect]) control.addEventListener("change", draw);
  search.addEventListener("input", draw);
  root.append(
    heading("Traffic signals", "Every intersection as its cabinet monitor says now; problems first, live."),
    h(
      "section",
      { class: "card", "aria-label": "Intersection list" },
      h(
        "form",
        { class: "toolbar", role: "search", "aria-label": "Sort and filter the intersections", onsubmit: (e) => e.preventDefault() },
        field("Order", sortSelect),
        field("Show", showSelect),
        field("Code or name", search),
      ),
      counted,
      asOf,
    ),
    list,
  );

  ctx.say("Reading the intersections…", "busy");
  await load();
  if (!failed) ctx.say("");

  let timer = null;
  const unlisten = ctx.onAlarmEvent(() => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      load();
    }, REREAD_AFTER_EVENT_MS);
  });
  // A hidden tab asks nothing; it reads at once when it is seen again.
  const poll = setInterval(() => document.hidden || load(), POLL_MS);
  const onVisible = () => document.hidden || load();
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    stop.abort();
    clearTimeout(timer);
    clearInterval(poll);
    document.removeEventListener("visibilitychange", onVisible);
    unlisten();
  };
}
