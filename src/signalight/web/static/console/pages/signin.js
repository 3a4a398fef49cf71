/* Sign-in: username and password; the session lives in an HttpOnly cookie. */

import { explain } from "../api.js";
import { field, h, say } from "../ui.js";

export const title = "Sign in";

export function render(root, ctx) {
  const username = h("input", { type: "text", autocomplete: "username", required: true, spellcheck: "false", autocapitalize: "off" });
  const password = h("input", { type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");
  const problem = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "card signin", method: "post", action: "#/sign-in", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Signalight"),
    field("Username", username),
    field("Password", password),
    problem,
    submit,
    h("p", { class: "hint" }, "Accounts are made with ", h("code", {}, "signalight user add NAME --password-stdin"), "."),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    problem.textContent = "";
    say("Signing in…", "busy");
    try {
      await ctx.api("/auth/session", {
        method: "POST",
        body: { username: username.value, password: password.value },
      });
      password.value = "";
      say("");
      await ctx.signedIn();
    } catch (err) {
      problem.textContent = err.status === 401 ? "Wrong username or password." : explain(err);
      say("");
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h("section", { class: "center" }, form));
  username.focus();
}
