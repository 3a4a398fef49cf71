/*
 * One work order: its asset, incident and alarms (with their states), due
 * time, crew, notes, photos and parts, and the steps the signed-in user may
 * take on it. Its alarms' events re-read the order, so "closed, not
 * confirmed" turns into "closed, confirmed" here as soon as the repair is.
 */

import { explain } from "../api.js";
import { badge, field, h, heading, when } from "../ui.js";
import {
  ACTIVE,
  busy,
  dueText,
  finishForm,
  mayWork,
  noteForm,
  ordersPath,
  outcomeLine,
  photoInput,
  priorityBadge,
  stateBadge,
  steps,
} from "../workorders.js";

export const title = "Work order";

const REREAD_AFTER_EVENT_MS = 800;
const MAX_ALARMS_SHOWN = 20;

export async function render(root, ctx) {
  const stop = new AbortController();
  const city = encodeURIComponent(ctx.city);
  const id = ctx.params.id;
  const act = steps(ctx, id);
  const view = h("div", { class: "wo" });
  root.append(view);

  let order = null;
  let alarms = [];
  let incident = null;

  async function load() {
    order = await ctx.api(ordersPath(ctx.city, id), { signal: stop.signal });
    const ids = order.alarm_ids.slice(0, MAX_ALARMS_SHOWN);
    const [found, inc] = await Promise.all([
      Promise.all(ids.map((a) => ctx.api(`/cities/${city}/alarms/${a}`, { signal: stop.signal }).catch(() => null))),
      order.incident_id ? ctx.api(`/cities/${city}/incidents/${order.incident_id}`, { signal: stop.signal }).catch(() => null) : null,
    ]);
    alarms = found.filter(Boolean);
    incident = inc;
  }

  function photoUrl(photo) {
    return `/api/v1${ordersPath(ctx.city, id, "photos", photo.id)}`;
  }

  function draw() {
    const o = order;
    const assetLink = o.asset_id
      ? h("a", { href: ctx.link("/c/:city/assets/:id", { city: ctx.city, id: o.asset_id }) }, o.asset)
      : h("span", {}, `${o.asset} (deleted)`);
    const facts = h(
      "dl",
      { class: "fields" },
      h("dt", {}, "Asset"),
      h("dd", {}, assetLink),
      h("dt", {}, "State"),
      h("dd", { id: "wo-state" }, stateBadge(o.state)),
      h("dt", {}, "Priority"),
      h("dd", {}, priorityBadge(o.priority)),
      h("dt", {}, "Due"),
      h("dd", {}, dueText(o)),
      h("dt", {}, "Crew"),
      h("dd", { id: "wo-crew" }, o.crew || "nobody yet"),
      h("dt", {}, "Made"),
      h("dd", {}, `${when(o.created_at)} by ${o.created_by}`),
      o.started_at ? [h("dt", {}, "Started"), h("dd", {}, when(o.started_at))] : null,
      o.finished_at ? [h("dt", {}, "Finished"), h("dd", {}, when(o.finished_at))] : null,
      h("dt", {}, "Parts used"),
      h("dd", { id: "wo-parts" }, o.parts.length ? o.parts.map((p) => `${p.part} × ${p.quantity}`).join(", ") : "none"),
    );
    const incidentPart = h(
      "section",
      { class: "card", "aria-labelledby": "wo-incident" },
      h("h2", { id: "wo-incident" }, o.incident_id ? `Incident #${o.incident_id}${incident ? `: ${incident.state}` : ""}` : "No incident"),
      o.incident_id ? null : h("p", { class: "muted" }, "Made by hand: no alarm waits for the telemetry."),
      alarms.length
        ? h(
            "ul",
            { class: "plainlist", id: "wo-alarms" },
            ...alarms.map((a) =>
              h(
                "li",
                { dataset: { alarm: a.id, state: a.state } },
                badge(a.severity, a.severity),
                ` Alarm #${a.id} ${a.type} on ${a.asset || (a.asset_id === o.asset_id ? o.asset : "another asset")}: `,
                h("strong", {}, a.state),
                a.closed_by ? ` (closed by ${a.closed_by})` : "",
              ),
            ),
          )
        : null,
    );
    const notes = (o.notes || []).map((n) => h("li", { class: "note" }, h("span", { class: "muted" }, `${when(n.at)}, ${n.author}: `), n.text));
    const photos = (o.photos || []).map((p, i) =>
      h(
        "li",
        {},
        h("a", { href: photoUrl(p), target: "_blank", rel: "noopener" }, h("img", { src: photoUrl(p), alt: `Photo ${i + 1} by ${p.author}, ${when(p.at)}`, class: "thumb", loading: "lazy", width: 120, height: Math.round((120 * p.height) / Math.max(1, p.width)) })),
      ),
    );
    view.replaceChildren(
      ...[
      heading(`Work order #${o.id}: ${o.title}`, ctx.cities.find((c) => c.slug === ctx.city)?.name),
      outcomeLine(o),
      h("div", { class: "wo-grid" }, h("section", { class: "card", "aria-label": "The order" }, facts), incidentPart),
      actions(),
      h(
        "section",
        { class: "card", "aria-labelledby": "wo-notes" },
        h("h2", { id: "wo-notes" }, `Notes (${notes.length})`),
        notes.length ? h("ul", { class: "plainlist notes" }, ...notes) : h("p", { class: "muted" }, "No note yet."),
        h("h2", {}, `Photos (${photos.length})`),
        photos.length ? h("ul", { class: "thumbs" }, ...photos) : h("p", { class: "muted" }, "No photo yet."),
      ),
      ].filter(Boolean),
    );
  }

  async function after(work, text) {
    const result = await work();
    await load();
    draw();
    ctx.say(text, "ok");
    return result;
  }

  function actions() {
    const o = order;
    const parts = [];
    const working = mayWork(ctx, o);
    if (ctx.may("operator") && ACTIVE.has(o.state)) parts.push(assignForm());
    if (working && o.state === "assigned") {
      const start = h("button", { type: "button", class: "btn btn-primary" }, "Start");
      start.addEventListener("click", () => busy(start, "Starting…", () => after(act.start, "Started."), ctx));
      parts.push(h("div", { class: "actions" }, start));
    }
    if (working && o.state !== "cancelled") {
      parts.push(noteForm(ctx, (text) => after(() => act.note(text), "Note added.")));
      parts.push(photoInput(ctx, (file) => after(() => act.photo(file), "Photo added.")));
    }
    if (working && o.state === "in_progress") {
      parts.push(h("h3", {}, "Finish"), finishForm(ctx, (body) => after(() => act.finish(body), "Finished.")));
    }
    if (ctx.may("operator") && ACTIVE.has(o.state)) {
      const cancel = h("button", { type: "button", class: "btn btn-danger" }, "Cancel the order");
      cancel.addEventListener("click", () => {
        if (!window.confirm(`Cancel work order #${o.id}?`)) return;
        busy(cancel, "Cancelling…", () => after(() => act.cancel(""), "Cancelled."), ctx);
      });
      parts.push(h("div", { class: "actions" }, cancel));
    }
    if (!parts.length) return null;
    return h("section", { class: "card wo-actions", "aria-labelledby": "wo-act" }, h("h2", { id: "wo-act" }, "Actions"), ...parts);
  }

  function assignForm() {
    const input = h("input", { autocomplete: "off", maxlength: 64, required: true, list: "wo-crew-list", value: order.crew || "" });
    const list = h("datalist", { id: "wo-crew-list" });
    const error = h("p", { class: "form-error", role: "alert" });
    const button = h("button", { type: "submit", class: "btn" }, order.crew ? "Reassign" : "Assign");
    // Who may be given the order (GET /crew, operator and up): the crew first, then the others.
    const fill = ctx
      .api(`/cities/${city}/crew`, { signal: stop.signal })
      .then((members) => [
        ...members.filter((m) => m.role === "crew").map((m) => m.username),
        ...members.filter((m) => m.role !== "crew").map((m) => m.username),
      ]);
    fill
      .then((names) => list.replaceChildren(...names.map((n) => h("option", { value: n }))))
      .catch(() => {});
    const form = h("form", { class: "toolbar", "aria-label": "Assign to a crew member" }, field("Crew member (username)", input), list, button, error);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      error.textContent = "";
      const name = input.value.trim();
      if (!name) {
        error.textContent = "Give the crew member's username.";
        return;
      }
      busy(button, "Assigning…", () => after(() => act.assign(name), `Assigned to ${name}.`), ctx, error);
    });
    return form;
  }

  // The order's alarms changing (cleared, closed by the order) may change its confirmation.
  let timer = null;
  const unlisten = ctx.onAlarmEvent((event) => {
    if (!order || !event.alarm || !order.alarm_ids.includes(event.alarm.id)) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        await load();
        draw();
      } catch (err) {
        if (err.name !== "AbortError") ctx.say(explain(err), "error");
      }
    }, REREAD_AFTER_EVENT_MS);
  });

  try {
    await load();
  } catch (err) {
    unlisten();
    throw err;
  }
  draw();
  return () => {
    stop.abort();
    clearTimeout(timer);
    unlisten();
  };
}
