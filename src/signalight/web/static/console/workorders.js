/*
 * What the work-order pages and the crew view share: the orders' words
 * (states, priorities, due times, "done means fixed"), who may do which step,
 * the API paths, and the forms of the steps (note, photo, finish) with a busy
 * state on their buttons so a slow connection is never a silent one.
 */

import { explain } from "./api.js";
import { badge, field, h, when } from "./ui.js";

export const STATES = [
  { key: "open", label: "Open" },
  { key: "assigned", label: "Assigned" },
  { key: "in_progress", label: "In progress" },
  { key: "done", label: "Done" },
  { key: "cancelled", label: "Cancelled" },
];
export const STATE_LABEL = Object.fromEntries(STATES.map((s) => [s.key, s.label]));
export const ACTIVE = new Set(["open", "assigned", "in_progress"]);
export { SEVERITIES as PRIORITIES } from "./ui.js";
export const PRIORITY_RANK = { critical: 0, major: 1, minor: 2, warning: 3 };
export const PARTS = [
  { key: "lamp", label: "Lamp" },
  { key: "driver", label: "Driver" },
  { key: "fuse", label: "Fuse" },
  { key: "other", label: "Other" },
];

/** The API path of the city's work orders, or of one of them and what follows. */
export function ordersPath(city, id, ...rest) {
  const base = `/cities/${encodeURIComponent(city)}/work-orders`;
  return id === undefined ? base : [base, encodeURIComponent(id), ...rest].join("/");
}

export const stateBadge = (state) => badge(`wo-${state}`, STATE_LABEL[state] || state);
export const priorityBadge = (priority) => badge(priority, `Priority ${priority}`);

/** The due time in words, with "past due" said, not only coloured. */
export function dueText(order) {
  if (order.past_due) return h("span", { class: "pastdue" }, `Past due since ${when(order.due_at)}`);
  return h("span", {}, `Due ${when(order.due_at)}`);
}

/** What became of a finished order: done means fixed only once the telemetry says so. */
export function outcomeText(order) {
  if (order.state === "cancelled") return "Cancelled";
  if (order.state !== "done") return null;
  if (order.confirmation === "confirmed") return "Closed, confirmed";
  return "Closed, not confirmed: waiting for the telemetry to show the fault gone";
}

/** The outcome as a line of the page (null before the order is done). */
export function outcomeLine(order) {
  const text = outcomeText(order);
  if (!text) return null;
  const kind = order.state === "done" ? order.confirmation || "not_confirmed" : "cancelled";
  return h("p", { class: `outcome outcome-${kind}`, dataset: { confirmation: kind } }, text);
}

/** Whether the signed-in user may work this order: its crew, or an operator and up. */
export function mayWork(ctx, order) {
  return ctx.may("operator") || (ctx.may("crew") && order.crew === ctx.session.username);
}

/**
 * Run `work` with the button busy: disabled, aria-busy and its words saying so,
 * then as it was. Errors are said in `out` (or the status line) in words.
 */
export async function busy(button, busyText, work, ctx, out = null) {
  const before = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = busyText;
  try {
    return await work();
  } catch (err) {
    const text = explain(err);
    if (out) {
      out.textContent = text;
    } else ctx.say(text, "error");
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = before;
  }
}

/** A note form: a text area and a button; `send(text)` answers when the note is stored. */
export function noteForm(ctx, send, { big = false } = {}) {
  const text = h("textarea", { maxlength: 2000, required: true, rows: 3 });
  const error = h("p", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: `btn btn-primary${big ? " btn-big" : ""}` }, "Save the note");
  const form = h("form", { class: "stepform", "aria-label": "Add a note" }, field("Note", text), error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!text.value.trim()) {
      error.textContent = "Write the note first.";
      return;
    }
    const done = await busy(button, "Saving…", () => send(text.value.trim()), ctx, error);
    if (done !== undefined) text.value = "";
  });
  return form;
}

/** A photo picker: the phone's camera or a file; `send(file)` answers when it is stored. */
export function photoInput(ctx, send, { big = false } = {}) {
  const input = h("input", { type: "file", accept: "image/*", capture: "environment", class: "visually-hidden" });
  const label = h("label", { class: `btn${big ? " btn-big" : ""} photolabel`, for: "" }, "Add a photo");
  const error = h("p", { class: "form-error", role: "alert" });
  input.id = `photo-${Math.random().toString(36).slice(2, 9)}`;
  label.setAttribute("for", input.id);
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    error.textContent = "";
    label.setAttribute("aria-busy", "true");
    label.classList.add("is-busy");
    const before = label.textContent;
    label.textContent = "Sending the photo…";
    input.disabled = true;
    try {
      await send(file);
    } catch (err) {
      error.textContent = explain(err);
    } finally {
      input.disabled = false;
      input.value = "";
      label.removeAttribute("aria-busy");
      label.classList.remove("is-busy");
      label.textContent = before;
    }
  });
  return h("div", { class: "photopick" }, input, label, error);
}

/** The finish form: parts used with quantities, and a note; `send({parts, note})`. */
export function finishForm(ctx, send, { big = false } = {}) {
  const counts = PARTS.map((p) => [p.key, h("input", { type: "number", min: 0, max: 10000, step: 1, value: 0, inputmode: "numeric" })]);
  const note = h("textarea", { maxlength: 2000, rows: 2 });
  const error = h("p", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: `btn btn-primary${big ? " btn-big" : ""}` }, "Finish the job");
  const form = h(
    "form",
    { class: "stepform", "aria-label": "Finish the job" },
    h(
      "fieldset",
      { class: "parts" },
      h("legend", {}, "Parts used"),
      ...counts.map(([key, input], i) => field(PARTS[i].label, input)),
    ),
    field("What was done (note)", note),
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const parts = [];
    for (const [part, input] of counts) {
      const quantity = Number(input.value || 0);
      if (!Number.isInteger(quantity) || quantity < 0 || quantity > 10000) {
        error.textContent = "Quantities are whole numbers from 0 to 10000.";
        return;
      }
      if (quantity > 0) parts.push({ part, quantity });
    }
    await busy(button, "Finishing…", () => send({ parts, note: note.value.trim() }), ctx, error);
  });
  return form;
}

/** The order's steps as API calls: each answers what the server answered. */
export function steps(ctx, id) {
  const path = (...rest) => ordersPath(ctx.city, id, ...rest);
  return {
    start: () => ctx.api(path("start"), { method: "POST" }),
    note: (note) => ctx.api(path("notes"), { method: "POST", body: { note } }),
    photo: (file) => ctx.api(path("photos"), { method: "POST", body: file }),
    finish: (body) => ctx.api(path("finish"), { method: "POST", body }),
    assign: (crew) => ctx.api(path("assign"), { method: "POST", body: { crew } }),
    cancel: (note) => ctx.api(path("cancel"), { method: "POST", body: { note } }),
  };
}
