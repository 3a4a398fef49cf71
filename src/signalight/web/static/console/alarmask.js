/*
 * The alarms board's small modal form: one note, optional or required, for an
 * operator's step (acknowledge, note, close). A native <dialog>, so the focus
 * is held in it and Escape cancels, without any script of ours for either.
 */

import { field, h } from "./ui.js";

/**
 * Ask for a note. Answers the text ("" when optional and left empty), or null
 * when the operator cancels.
 */
export function askNote(root, { title, label, action, required = false, hint }) {
  const text = h("textarea", { maxlength: 2000, rows: 3, "aria-required": required ? "true" : null });
  const error = h("p", { class: "form-error", role: "alert" });
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, action);
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: "ask-title" }, title),
    field(label, text, hint),
    error,
    h("div", { class: "actions" }, submit, cancel),
  );
  const dialog = h("dialog", { class: "card askdialog", "aria-labelledby": "ask-title" }, form);
  root.append(dialog);
  return new Promise((resolve) => {
    let answer = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (required && !value) {
        error.textContent = "Write the note first.";
        text.focus();
        return;
      }
      answer = value;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
    text.focus();
  });
}
