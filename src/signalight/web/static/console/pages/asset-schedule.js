/*
 * A streetlight's schedule on its asset page: what it should do on a chosen
 * local day and why (GET /cities/{city}/assets/{code}/schedule?date=), drawn
 * as a bar over the day with its levels and written out segment by segment;
 * the profile of each night and what chose it (an assignment, a calendar
 * entry, the city's default); sunrise and sunset; the overrides in force.
 * Operators and admins override the light (on, off or a level, for a while,
 * with a reason) and end an override; the others read. Times are the city's
 * clock, whatever the browser's zone. Live commands to the node are in
 * lightcommand.js.
 */

import { explain } from "../api.js";
import { dayNow, shiftDay } from "../calendar.js";
import { commandForm } from "../lightcommand.js";
import { field, h } from "../ui.js";
import { fromWall } from "./signals.js";

const DURATIONS = [
  [30, "30 minutes"],
  [60, "1 hour"],
  [120, "2 hours"],
  [240, "4 hours"],
  [480, "8 hours"],
  [720, "12 hours"],
  [1440, "24 hours"],
];
const HOURS_MARKED = [0, 6, 12, 18, 24];

/** "19:05" of an ISO time written in the city's zone (as the API writes them); "24:00" at the day's end. */
function clock(iso, day) {
  if (!iso) return null;
  return iso.slice(0, 10) === day ? iso.slice(11, 16) : "24:00";
}

const level = (v) => (v >= 100 ? "full" : `${Math.round(v * 10) / 10} %`);

/** An element placed by the CSSOM: the page's security policy refuses style attributes. */
function placed(node, styles) {
  Object.assign(node.style, styles);
  return node;
}

/** The day's plan as a bar: each lit segment placed over the local day, its level as its height. */
function timeline(body, start, end) {
  const length = end - start;
  const place = (iso) => Math.min(100, Math.max(0, ((new Date(iso).getTime() - start) / length) * 100));
  const bar = h("div", { class: "timeline", "aria-hidden": "true" });
  for (const s of body.segments) {
    const left = place(s.start);
    const width = Math.max(0.4, place(s.end) - left);
    const seg = h("span", { class: "tl-seg", title: `${clock(s.start, body.date)}–${clock(s.end, body.date)} ${level(s.level)}` });
    bar.append(placed(seg, { left: `${left}%`, width: `${width}%`, height: `${Math.max(8, s.level)}%` }));
  }
  for (const [key, word] of [["sunset", "Sunset"], ["sunrise", "Sunrise"]]) {
    const t = body.sun[key];
    if (t && t.slice(0, 10) === body.date) bar.append(placed(h("span", { class: `tl-sun tl-${key}` }, h("span", { class: "tl-sunword" }, word)), { left: `${place(t)}%` }));
  }
  const scale = h("div", { class: "tl-scale", "aria-hidden": "true" }, ...HOURS_MARKED.map((hr) => placed(h("span", {}, `${String(hr).padStart(2, "0")}:00`), { left: `${(hr / 24) * 100}%` })));
  return h("div", { class: "tl-wrap" }, bar, scale);
}

function sunLine(body) {
  const sun = body.sun;
  const say = (word, iso) => `${word} ${iso ? iso.slice(11, 16) : "none"}`;
  if (!sun.sunrise && !sun.sunset) return "The sun neither rises nor sets on this day here.";
  return `${say("Sunrise", sun.sunrise)}, ${say("sunset", sun.sunset)} (civil ${say("dawn", sun.dawn)}, ${say("dusk", sun.dusk)}), ${body.timezone}.`;
}

/**
 * Build the schedule section of a streetlight's asset page. Answers the
 * section and a load() to call once it is on the page.
 */
export function scheduleSection(ctx, asset, signal) {
  const city = encodeURIComponent(ctx.city);
  const zone = ctx.cities.find((c) => c.slug === ctx.city)?.timezone || "UTC";
  const mayOverride = ctx.may("operator");
  const dayInput = h("input", { type: "date", required: true, value: dayNow(zone), id: "schedule-day" });
  const body = h("div", { id: "schedule-body", "aria-live": "polite" });
  const overridesBox = h("div", { id: "schedule-overrides" });

  const step = (delta) => () => {
    dayInput.value = shiftDay(dayInput.value || dayNow(zone), delta);
    load();
  };
  dayInput.addEventListener("change", () => dayInput.value && load());

  async function load() {
    const day = dayInput.value || dayNow(zone);
    body.setAttribute("aria-busy", "true");
    try {
      const got = await ctx.api(`/cities/${city}/assets/${encodeURIComponent(asset.code)}/schedule?date=${day}`, { signal });
      draw(got);
    } catch (err) {
      if (err.name !== "AbortError") body.replaceChildren(h("p", { class: "form-error" }, explain(err)));
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  function draw(got) {
    const start = fromWall(`${got.date}T00:00`, zone).getTime();
    const end = fromWall(`${shiftDay(got.date, 1)}T00:00`, zone).getTime();
    const segments = got.segments.length
      ? h(
          "ol",
          { class: "plainlist schedsegs", id: "schedule-segments", "aria-label": "Lit spans of the day" },
          ...got.segments.map((s) => h("li", { dataset: { level: String(s.level) } }, `${clock(s.start, got.date)}–${clock(s.end, got.date)}: ${level(s.level)}`)),
        )
      : h("p", { id: "schedule-segments", class: "muted" }, "Off all day.");
    const nights = h(
      "dl",
      { class: "fields", id: "schedule-nights" },
      ...got.nights.flatMap((n, i) => [
        h("dt", {}, i === 0 ? "Until the morning" : "From the evening"),
        h(
          "dd",
          { dataset: { night: n.night } },
          h("strong", { class: "profile-name" }, n.profile),
          ` (night of ${n.night}), chosen by ${n.source}. `,
          h("span", { class: "muted" }, n.description),
        ),
      ]),
    );
    body.replaceChildren(
      h("p", { id: "schedule-sun" }, sunLine(got)),
      timeline(got, start, end),
      h("p", { class: "hint", id: "schedule-lit" }, `Lit ${Math.round(got.lit_hours * 10) / 10} h of the day by plan.`),
      segments,
      nights,
    );
    drawOverrides(got.overrides);
  }

  function drawOverrides(overrides) {
    if (!overrides.length) {
      overridesBox.replaceChildren(h("p", { class: "muted" }, "No override on this day."));
      return;
    }
    overridesBox.replaceChildren(
      h(
        "ul",
        { class: "plainlist", "aria-label": "Overrides on this day" },
        ...overrides.map((o) => {
          const until = new Date(o.expires_at);
          const end = mayOverride && o.active
            ? h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => endOverride(o) }, `End override ${o.id}`)
            : null;
          return h(
            "li",
            { class: "schedoverride", dataset: { override: String(o.id), active: String(o.active) } },
            h("strong", {}, o.level === 0 ? "Off" : `On at ${level(o.level)}`),
            ` on ${o.scope === "city" ? "the whole city" : `${o.scope.replace("_", " ")} ${o.key}`}`,
            `, until ${wallTime(until, zone)}`,
            o.active ? " (in force now)" : "",
            `, by ${o.by}: ${o.reason} `,
            end,
          );
        }),
      ),
    );
  }

  async function endOverride(o) {
    try {
      await ctx.api(`/cities/${city}/schedules/overrides/${o.id}/end`, { method: "POST", signal });
      ctx.say(`Override ${o.id} ended.`, "ok");
      await load();
    } catch (err) {
      if (err.name !== "AbortError") ctx.say(explain(err), "error");
    }
  }

  const form = mayOverride ? overrideForm() : null;
  function overrideForm() {
    const mode = h("select", { name: "mode" }, h("option", { value: "on" }, "On, full"), h("option", { value: "level" }, "On at a level"), h("option", { value: "off" }, "Off"));
    const levelInput = h("input", { type: "number", name: "level", min: 1, max: 100, step: 1, value: 50, inputmode: "numeric", disabled: true });
    const duration = h("select", { name: "duration" }, ...DURATIONS.map(([m, words]) => h("option", { value: String(m), selected: m === 120 }, words)));
    const reason = h("input", { type: "text", name: "reason", required: true, maxlength: 500, autocomplete: "off" });
    const error = h("p", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Override the light");
    mode.addEventListener("change", () => {
      levelInput.disabled = mode.value !== "level";
    });
    const node = h(
      "form",
      // Checked here rather than by the browser, so the words are ours and read out as an alert.
      { class: "sigform", id: "override-form", "aria-labelledby": "override-h", novalidate: true },
      h("h3", { id: "override-h" }, "Override this light"),
      h("div", { class: "toolbar" }, field("Switch", mode), field("Level (%)", levelInput), field("For", duration)),
      field("Reason", reason, "Said in the audit trail with your name."),
      error,
      submit,
    );
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!reason.value.trim()) {
        error.textContent = "Say why the light is overridden.";
        reason.focus();
        return;
      }
      const wanted = Number(levelInput.value);
      if (mode.value === "level" && !(wanted >= 1 && wanted <= 100)) {
        error.textContent = "A level is from 1 to 100 %.";
        levelInput.focus();
        return;
      }
      submit.disabled = true;
      try {
        const made = await ctx.api(`/cities/${city}/schedules/overrides`, {
          method: "POST",
          signal,
          body: {
            scope: "asset",
            key: asset.code,
            mode: mode.value,
            level: mode.value === "level" ? Number(levelInput.value) : null,
            duration_min: Number(duration.value),
            reason: reason.value.trim(),
          },
        });
        reason.value = "";
        ctx.say(`Override ${made.id} set until ${wallTime(new Date(made.expires_at), zone)}.`, "ok");
        dayInput.value = dayNow(zone); // an override starts now: show today
        await load();
      } catch (err) {
        if (err.name !== "AbortError") error.textContent = explain(err);
      } finally {
        submit.disabled = false;
      }
    });
    return node;
  }

  const section = h(
    "section",
    { class: "card", id: "asset-schedule", "aria-labelledby": "asset-h-schedule" },
    h("h2", { id: "asset-h-schedule" }, "Schedule"),
    h(
      "div",
      { class: "toolbar", role: "group", "aria-label": "Day of the schedule" },
      h("button", { type: "button", class: "btn", onclick: step(-1) }, "Previous day"),
      field("Day", dayInput),
      h("button", { type: "button", class: "btn", onclick: step(1) }, "Next day"),
    ),
    body,
    h("h3", {}, "Overrides"),
    overridesBox,
    form,
    commandForm(ctx, asset, signal),
  );
  return { section, load };
}

/** "3 May, 21:30" on the zone's clock. */
function wallTime(date, zone) {
  return date.toLocaleString("en-GB", { timeZone: zone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}
