/*
 * "Send to the light now", under a streetlight's schedule: a live switch or
 * dim command to its node (POST /cities/{city}/commands, one asset), then
 * the command's state, read every 2 seconds (GET .../commands/{id}) until it
 * ends: queued, sent (and how often), acknowledged by the node itself,
 * failed or expired. A command is done only when its own node answers, so
 * the page never says more than the server knows. Operators and admins
 * switch and dim; a crew member may switch one light for a repair; viewers
 * see nothing here.
 */

import { explain } from "./api.js";
import { field, h } from "./ui.js";

const POLL_MS = 2000;
const OPEN = new Set(["queued", "sent"]);
const WORDS = {
  queued: "queued: waiting to go out",
  sent: "sent: waiting for the light's answer",
  acknowledged: "acknowledged by the light",
  failed: "failed",
  expired: "expired: the light did not answer in time",
};

/** What a command's state says to the operator, in one sentence. */
function stateWords(c) {
  const what = c.kind === "dim" ? `Dim to ${c.args.level} %` : `Switch ${c.args.on ? "on" : "off"}`;
  const tries = c.attempts > 1 ? ` (sent ${c.attempts} times)` : "";
  const why = c.reason ? `: ${c.reason}` : "";
  return `${what}: ${WORDS[c.state] || c.state}${c.state === "sent" ? tries : ""}${c.state === "failed" || c.state === "expired" ? why : ""}.`;
}

/**
 * The form and the state line, for a light with a device; null for a role
 * that may not command it. ``signal`` stops the polling with the page.
 */
export function commandForm(ctx, asset, signal) {
  if (!asset.device || !ctx.may("crew")) return null;
  const city = encodeURIComponent(ctx.city);
  const full = ctx.may("operator");
  const action = h(
    "select",
    { name: "action" },
    h("option", { value: "on" }, "Switch on"),
    h("option", { value: "off" }, "Switch off"),
    full ? h("option", { value: "dim" }, "Dim to a level") : null,
  );
  const levelInput = h("input", { type: "number", name: "level", min: 0, max: 100, step: 1, value: 50, inputmode: "numeric", disabled: true });
  const why = h("input", { type: "text", name: "why", maxlength: 200, autocomplete: "off" });
  const stateLine = h("p", { class: "cmdstate", id: "command-state", role: "status" });
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Send to the light now");
  action.addEventListener("change", () => {
    levelInput.disabled = action.value !== "dim";
  });
  let timer = null;
  signal.addEventListener("abort", () => clearTimeout(timer));

  async function follow(id) {
    clearTimeout(timer);
    try {
      const c = await ctx.api(`/cities/${city}/commands/${encodeURIComponent(id)}`, { signal });
      stateLine.textContent = stateWords(c);
      stateLine.dataset.state = c.state;
      if (OPEN.has(c.state)) timer = setTimeout(() => follow(id), POLL_MS);
    } catch (err) {
      if (err.name === "AbortError") return;
      stateLine.textContent = `The command's state could not be read: ${explain(err)} Trying again.`;
      timer = setTimeout(() => follow(id), POLL_MS * 3);
    }
  }

  const form = h(
    "form",
    { class: "sigform", id: "command-form", "aria-labelledby": "command-h", novalidate: true },
    h("h3", { id: "command-h" }, "Send to the light now"),
    h("p", { class: "hint" }, full
      ? "A live command to the light's node, whatever its schedule says; the schedule takes over again at its next step."
      : "A crew member may switch this light on or off for a repair."),
    h("div", { class: "toolbar" }, field("Command", action), full ? field("Level (%)", levelInput) : null),
    field("Why (optional)", why),
    error,
    submit,
    stateLine,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const level = Number(levelInput.value);
    if (action.value === "dim" && !(level >= 0 && level <= 100)) {
      error.textContent = "A level is from 0 to 100 %.";
      levelInput.focus();
      return;
    }
    const [kind, args] = action.value === "dim" ? ["dim", { level }] : ["switch", { on: action.value === "on" }];
    submit.disabled = true;
    try {
      const batch = await ctx.api(`/cities/${city}/commands`, {
        method: "POST",
        signal,
        body: { kind, args, target: { assets: [asset.code] }, why: why.value.trim() },
      });
      // One asset, one device: the batch holds one command, followed by its id.
      const page = await ctx.api(`/cities/${city}/commands?batch=${batch.id}&limit=1`, { signal });
      const command = page.items[0];
      if (!command) {
        stateLine.textContent = `Nothing was sent: ${batch.skipped.length ? "the light has no device" : "no command was made"}.`;
        return;
      }
      stateLine.dataset.command = command.id;
      why.value = "";
      await follow(command.id);
    } catch (err) {
      if (err.name !== "AbortError") error.textContent = explain(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
