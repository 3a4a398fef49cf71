/*
 * One intersection: its monitor's state (mode, door, MMU, mains, battery,
 * when it last reported), a lamp head per phase, its open alarms, its
 * controller's newest events (read again every 5 s while the tab is seen),
 * and its maintenance windows. Above all, whether an open cabinet door is
 * authorised now (a window covering this moment) or a possible break-in.
 * Operators open a window for one of the city's crew and end one early; a
 * crew member sees and ends their own; a viewer reads. Times are the city's.
 */

import { ApiError, explain } from "../api.js";
import { typeWords } from "../alarmwords.js";
import { ago, badge, field, h, heading } from "../ui.js";
import { fromWall, listPath, phasesText, stateBadge, wallValue } from "./signals.js";

export const title = "Intersection";

const EVENTS_EVERY_MS = 5000;
const WINDOWS_EVERY_MS = 30_000;
const REREAD_AFTER_EVENT_MS = 600;
const DEFAULT_HOURS = 2; // a new window's default length
const WHY_MAX = 500; // as the API allows
const COLOURS = ["red", "yellow", "green"];
const UNAUTHORISED = "doorOpenUnauthorised";
const MMU_WORDS = { ok: "OK", conflict: "tripped: conflicting greens", red_fail: "tripped: red lamp failure", voltage: "tripped: voltage" };

const dd = (value) => h("dd", {}, value === null || value === undefined || value === "" ? "–" : value);
const capital = (word) => word.charAt(0).toUpperCase() + word.slice(1);

/** When a window stops authorising: its end, or the moment it was ended early. */
const closesAt = (w) => Math.min(Date.parse(w.ends_at), w.ended_at ? Date.parse(w.ended_at) : Infinity);
const covers = (w, now) => Date.parse(w.starts_at) <= now && now < closesAt(w);

export async function render(root, ctx) {
  const stop = new AbortController();
  const signal = stop.signal;
  const city = encodeURIComponent(ctx.city);
  const code = ctx.params.id;
  const zone = ctx.cities.find((c) => c.slug === ctx.city)?.timezone || "UTC";
  const base = `/cities/${city}/intersections/${encodeURIComponent(code)}`;
  const stamp = (iso, seconds = false) =>
    new Date(iso).toLocaleString("en-GB", {
      timeZone: zone, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      ...(seconds ? { second: "2-digit", fractionalSecondDigits: 1 } : {}),
    });

  let detail;
  try {
    detail = await ctx.api(base, { signal });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 422)) {
      root.replaceChildren(
        h("h1", {}, "No such intersection"),
        h("p", { id: "signal-missing" }, `${ctx.city} has no intersection ${code}. ${explain(err)}`),
        h("p", {}, h("a", { href: ctx.link(listPath, { city: ctx.city }) }, "All traffic signals")),
      );
      return () => stop.abort();
    }
    throw err;
  }
  document.title = `${detail.code} · Signalight`;
  const operator = ctx.may("operator");
  const mine = (w) => operator || (ctx.role === "crew" && w.who === ctx.session.username);
  let asset = null; // {id, cabinet}: the asset page's link and the cabinet's windows
  let windows = [];

  const doorBox = h("div", { id: "signal-door", class: "sigdoor", "aria-live": "polite" });
  const stateBox = h("div", { id: "signal-state", class: "sigstatebox" });
  const lampsBox = h("div", { id: "signal-lamps" });
  const alarmsBox = h("div", { id: "signal-alarms" });
  const windowsBox = h("div", { id: "signal-windows" });
  const eventsBox = h("div", { id: "signal-events" });
  const links = h("p", { class: "actions" }, h("a", { href: ctx.link(listPath, { city: ctx.city }) }, "All traffic signals"));
  const section = (id, text, ...body) => h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, text), ...body);
  root.append(
    heading(`Intersection ${detail.code}`, [detail.name, detail.street].filter(Boolean).join(" · ")),
    links,
    doorBox,
    h("div", { class: "assetgrid" }, section("signal-h-state", "State", stateBox), section("signal-h-lamps", "Lamps", lampsBox)),
    section("signal-h-alarms", "Open alarms", alarmsBox),
    section("signal-h-windows", "Maintenance windows", windowsBox, operator ? windowForm() : null),
    section("signal-h-events", "Controller events", eventsBox),
  );

  function drawDoor() {
    const now = Date.now();
    const active = windows.find((w) => covers(w, now));
    const alarm = detail.alarms.find((a) => a.type === UNAUTHORISED);
    const until = active ? `maintenance window #${active.id} for ${active.who} until ${stamp(active.ends_at)} (${active.why})` : "";
    let kind;
    let lines;
    // The server says what authorises an open door now: any window (a crew member sees only
    // their own here) or an assigned work order on the intersection or its cabinet.
    if (detail.door === "open" && detail.door_authorised) {
      kind = "authorised";
      lines = [`Door open: authorised by ${detail.door_authorised}.`];
    } else if (detail.door === "open") {
      kind = "breakin";
      lines = [
        "Door open: NOT authorised. No maintenance window or work order covers now: treat it as a break-in until someone on site says otherwise.",
      ];
    } else {
      kind = detail.door === "closed" ? "closed" : "unknown";
      lines = [detail.door === "closed" ? "Door closed." : "The monitor has not said whether the door is open.", active ? `Open now: ${until}.` : null];
    }
    if (alarm) lines.push(`Alarm #${alarm.id} (${alarm.message}) raised ${stamp(alarm.raised_at)} is still open.`);
    const text = lines.filter(Boolean);
    if (doorBox.dataset.door === kind && doorBox.textContent === text.join("")) return; // said again only when it changes
    doorBox.dataset.door = kind;
    doorBox.className = `sigdoor sigdoor-${kind}`;
    doorBox.replaceChildren(h("p", {}, h("strong", {}, text[0])), ...text.slice(1).map((t) => h("p", {}, t)));
  }

  function drawState() {
    const i = detail;
    const silent = i.silent_s !== null && i.silent_s !== undefined;
    stateBox.replaceChildren(
      h("p", {}, stateBadge(i)),
      h("p", { class: "signow", id: "signal-now" }, i.now),
      h(
        "dl",
        { class: "fields" },
        h("dt", {}, "Mode"), dd(i.mode && capital(i.mode)),
        h("dt", {}, "Door"), dd(i.door && capital(i.door)),
        h("dt", {}, "Conflict monitor"), dd(i.mmu && (MMU_WORDS[i.mmu] || i.mmu.replaceAll("_", " "))),
        h("dt", {}, "Mains"), dd(i.mains === null ? null : i.mains ? "On" : "Lost"),
        h("dt", {}, "Battery"), dd(i.battery === null ? null : `${i.battery.toFixed(1)} V`),
        h("dt", {}, "Green now"), dd(phasesText(i.green)),
        h("dt", {}, "Observed"), dd(i.observed_at ? `${stamp(i.observed_at, true)} (${ago(i.observed_at)})${silent ? ": silent" : ""}` : "never"),
        h("dt", {}, "Controller"), dd([i.controller_id, i.controller_vendor].filter(Boolean).join(", ")),
        h("dt", {}, "Monitor"), dd(i.device || "none bound"),
      ),
    );
  }

  function drawLamps() {
    const byPhase = new Map(detail.lamps.map((l) => [l.phase, l]));
    for (const p of detail.phases) if (!byPhase.has(p)) byPhase.set(p, { phase: p, red: null, yellow: null, green: null, lit: null });
    const phases = [...byPhase.values()].sort((a, b) => a.phase - b.phase);
    if (!phases.length) {
      lampsBox.replaceChildren(h("p", { class: "muted" }, "No lamp current is reported for this intersection."));
      return;
    }
    lampsBox.replaceChildren(
      h(
        "ul",
        { class: "sigheads" },
        ...phases.map((l) =>
          h(
            "li",
            { class: "sighead", dataset: { phase: l.phase, lit: l.lit || "none" } },
            h("h3", {}, `Phase ${l.phase}`),
            h(
              "ul",
              { class: "lamps", "aria-label": `Phase ${l.phase}: ${l.lit ? `${l.lit} lit` : "nothing lit"}` },
              ...COLOURS.map((c) =>
                h(
                  "li",
                  { class: `lamp lamp-${c}${l.lit === c ? " is-lit" : ""}`, dataset: { colour: c } },
                  h("span", { class: "bulb", "aria-hidden": "true" }),
                  h("span", { class: "visually-hidden" }, `${capital(c)}${l.lit === c ? ", lit" : ""}: `),
                  l[c] === null || l[c] === undefined ? "–" : `${l[c].toFixed(2)} A`,
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  let alarmsKey = null;
  function drawAlarms() {
    const key = JSON.stringify([detail.alarms, asset?.id]);
    if (key === alarmsKey) return; // its links keep the keyboard's place
    alarmsKey = key;
    const board = h("a", { href: ctx.link("/c/:city/alarms", { city: ctx.city }) }, "the alarms board");
    if (!detail.alarms.length) {
      alarmsBox.replaceChildren(h("p", { class: "muted" }, "No open alarm."));
      return;
    }
    const page = asset ? ctx.link("/c/:city/assets/:id", { city: ctx.city, id: asset.id }) : null;
    alarmsBox.replaceChildren(
      h(
        "ul",
        { class: "plainlist sigalarmlist" },
        ...detail.alarms.map((a) =>
          h(
            "li",
            { dataset: { alarm: a.id, type: a.type } },
            badge(a.severity, capital(a.severity)), " ",
            page ? h("a", { href: page }, `#${a.id}`) : `#${a.id}`,
            ` ${typeWords(a.type)}: ${a.message}. ${a.state === "raised" ? "Raised" : `${capital(a.state)}, raised`} ${stamp(a.raised_at)}.`,
          ),
        ),
      ),
      h("p", { class: "hint" }, page ? "Each alarm's history is on the intersection's asset page; acknowledge them on " : "Acknowledge them on ", board, "."),
    );
  }

  let eventsKey = null;
  function drawEvents() {
    const key = detail.events.length ? `${detail.events[0].time}/${detail.events[0].code}/${detail.events.length}` : "";
    if (key === eventsKey) return;
    eventsKey = key;
    if (!detail.events.length) {
      eventsBox.replaceChildren(h("p", { class: "muted" }, "The controller has logged no event yet."));
      return;
    }
    eventsBox.replaceChildren(
      h(
        "div",
        { class: "tablewrap" },
        h(
          "table",
          { class: "sigevents" },
          h("caption", { class: "hint" }, `The newest ${detail.events.length}, newest first; times in ${zone}. Read again every 5 seconds.`),
          h("thead", {}, h("tr", {}, ...["Time", "Code", "Parameter", "Meaning"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            ...detail.events.map((e) =>
              h("tr", { dataset: { code: e.code } }, h("td", {}, h("time", { datetime: e.time }, stamp(e.time, true))), h("td", {}, String(e.code)), h("td", {}, String(e.param)), h("td", {}, e.meaning)),
            ),
          ),
        ),
      ),
    );
  }

  function drawWindows() {
    const now = Date.now();
    const coming = windows.filter((w) => closesAt(w) > now).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    const past = windows.length - coming.length;
    const items = coming.map((w) => {
      const active = covers(w, now);
      const end = h("button", { type: "button", class: "btn btn-small" }, `End #${w.id} now`);
      end.addEventListener("click", () => endWindow(w, end));
      return h(
        "li",
        { dataset: { window: w.id, active: String(active) } },
        badge(active ? "working" : "unknown", active ? "Active now" : "Upcoming"), " ",
        h("strong", {}, `#${w.id} ${w.who}`),
        `, ${stamp(w.starts_at)} to ${stamp(w.ends_at)}`,
        w.asset !== detail.code ? ` (on its cabinet ${w.asset})` : "",
        `: ${w.why}. Opened by ${w.created_by}.`,
        mine(w) ? h("span", { class: "sigend" }, end) : null,
      );
    });
    windowsBox.replaceChildren(
      ...[
        items.length ? h("ul", { class: "plainlist sigwindows" }, ...items) : h("p", { class: "muted" }, "No window is open now or coming."),
        past ? h("p", { class: "hint" }, `${past} window${past === 1 ? " is" : "s are"} over and not shown.`) : null,
        ctx.role === "crew" ? h("p", { class: "hint" }, "You see the windows naming you.") : null,
      ].filter(Boolean),
    );
  }

  async function endWindow(w, button) {
    button.disabled = true;
    try {
      await ctx.api(`/cities/${city}/maintenance-windows/${w.id}`, { method: "DELETE" });
      ctx.say(`Window #${w.id} ended.`, "ok");
      await Promise.all([loadWindows(), loadDetail()]); // the door's authority is the server's word
    } catch (err) {
      button.disabled = false;
      if (err.name !== "AbortError") ctx.say(explain(err), "error");
    }
  }

  function windowForm() {
    const who = h("select", { required: true }, h("option", { value: "" }, "Reading the crew…"));
    const now = Date.now();
    const from = h("input", { type: "datetime-local", required: true, value: wallValue(now, zone) });
    const until = h("input", { type: "datetime-local", required: true, value: wallValue(now + DEFAULT_HOURS * 3600_000, zone) });
    const why = h("input", { required: true, maxlength: WHY_MAX, autocomplete: "off" });
    const error = h("p", { class: "form-error", role: "alert" });
    const button = h("button", { type: "submit", class: "btn btn-primary" }, "Open the window");
    ctx
      .api(`/cities/${city}/crew`, { signal })
      .then((crew) => who.replaceChildren(h("option", { value: "" }, "Choose…"), ...crew.map((c) => h("option", { value: c.username }, `${c.username} (${c.role})`))))
      .catch((err) => err.name !== "AbortError" && (error.textContent = explain(err)));
    const form = h(
      "form",
      { class: "sigform", "aria-labelledby": "signal-h-new" },
      h("h3", { id: "signal-h-new" }, "Open a window"),
      h(
        "div",
        { class: "toolbar" },
        field("Who will open the door", who),
        field(`From (${zone} time)`, from),
        field(`Until (${zone} time)`, until),
        field("Why", why, "What the visit is for"),
        h("div", { class: "field" }, button),
      ),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      button.disabled = true;
      try {
        const body = {
          asset: detail.code,
          who: who.value,
          starts_at: fromWall(from.value, zone).toISOString(),
          ends_at: fromWall(until.value, zone).toISOString(),
          why: why.value.trim(),
        };
        const made = await ctx.api(`/cities/${city}/maintenance-windows`, { method: "POST", body });
        ctx.say(`Window #${made.id} opened for ${made.who}.`, "ok");
        why.value = "";
        await Promise.all([loadWindows(), loadDetail()]); // the door's authority is the server's word
      } catch (err) {
        if (err.name !== "AbortError") error.textContent = explain(err);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  async function loadAsset() {
    asset = { id: detail.id, cabinet: detail.cabinet };
    links.append(
      h("a", { href: ctx.link("/c/:city/assets/:id", { city: ctx.city, id: detail.id }) }, "Asset page"),
      h("a", { href: ctx.link("/c/:city/map", { city: ctx.city }) }, "Map"),
    );
  }

  // The windows on the intersection and on the cabinet that feeds it: either authorises its door.
  async function loadWindows() {
    const codes = [detail.code, ...(asset?.cabinet ? [asset.cabinet] : [])];
    const pages = await Promise.all(
      codes.map((c) => ctx.api(`/cities/${city}/maintenance-windows?${new URLSearchParams({ asset: c, limit: "100" })}`, { signal })),
    );
    windows = pages.flatMap((p) => p.items);
    drawWindows();
    drawDoor();
  }

  // One read at a time: a slow answer is not overtaken by the next tick's.
  let reading = null;
  function loadDetail() {
    reading ||= ctx
      .api(base, { signal })
      .then((fresh) => {
        detail = fresh;
        drawAll();
      })
      .finally(() => (reading = null));
    return reading;
  }

  function drawAll() {
    drawDoor();
    drawState();
    drawLamps();
    drawAlarms();
    drawEvents();
  }

  let failed = false;
  const run = (job) =>
    job().then(
      () => {
        if (failed) ctx.say("");
        failed = false;
      },
      (err) => {
        if (err.name === "AbortError") return;
        failed = true;
        ctx.say(explain(err), "error");
      },
    );

  drawAll();
  await run(async () => {
    await loadAsset();
    drawAlarms();
    await loadWindows();
  });

  let timer = null;
  const unlisten = ctx.onAlarmEvent((event) => {
    if (event.alarm?.asset !== detail.code && (!asset || event.alarm?.asset_id !== asset.id)) return;
    clearTimeout(timer);
    timer = setTimeout(() => run(loadDetail), REREAD_AFTER_EVENT_MS);
  });
  // Only while the tab is seen: a hidden tab asks nothing, and reads at once when seen again.
  let polls = [];
  const start = () => {
    polls = [setInterval(() => run(loadDetail), EVENTS_EVERY_MS), setInterval(() => run(loadWindows), WINDOWS_EVERY_MS)];
  };
  const halt = () => polls.forEach(clearInterval);
  const onVisibility = () => {
    halt();
    if (document.hidden) return;
    run(loadDetail);
    run(loadWindows);
    start();
  };
  if (!document.hidden) start();
  document.addEventListener("visibilitychange", onVisibility);
  return () => {
    stop.abort();
    clearTimeout(timer);
    halt();
    document.removeEventListener("visibilitychange", onVisibility);
    unlisten();
  };
}
