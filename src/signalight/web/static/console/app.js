/*
 * The operations console: checks the browser session, shows the sign-in form
 * or the page the address asks for, with the city menu and switcher. Pages are
 * loaded as modules on first use (pages/<name>.js, listed in routes.js).
 */

import { api, ApiError, explain, setCsrf } from "./api.js";
import { ROUTES, link, match } from "./routes.js";
import { closeStream, onAlarmEvent } from "./stream.js";
import { h, say } from "./ui.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const switcher = document.getElementById("city-switch");
const who = document.getElementById("who");
const signoutButton = document.getElementById("signout");

let session = null; // {username, csrf_token, roles: [{city, role}], networks: [...]}
let cities = []; // the cities the user has a role in: [{slug, name, ...}]
let cleanup = null;
let rendering = 0;

function roleIn(city) {
  return session?.roles.find((r) => r.city === city)?.role ?? null;
}

// What this tab last knew of the session, for a reload while the network is
// down (a crew in a basement): the pages then show what they kept, flagged.
const KEPT = "signalight.session";
let offline = false;

async function loadSession() {
  try {
    session = await api("/auth/session");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      session = null;
      sessionStorage.removeItem(KEPT);
      return;
    }
    const kept = err instanceof ApiError && err.status === 0 && sessionStorage.getItem(KEPT);
    if (!kept) throw err;
    ({ session, cities } = JSON.parse(kept));
    setCsrf(session.csrf_token);
    offline = true;
    return;
  }
  setCsrf(session.csrf_token);
  offline = false;
  cities = await api("/cities");
  try {
    session.networks = await api("/networks");
  } catch {
    session.networks = []; // an older server, or none: the page works without
  }
  sessionStorage.setItem(KEPT, JSON.stringify({ session, cities }));
}

function showChrome(city) {
  const signedIn = Boolean(session);
  signoutButton.hidden = !signedIn;
  who.textContent = signedIn ? session.username : "";
  switcher.hidden = !signedIn || cities.length === 0;
  nav.hidden = !signedIn || !city;
  if (signedIn) {
    switcher.replaceChildren(
      ...cities.map((c) => new Option(c.name, c.slug, false, c.slug === city)),
    );
  }
  if (!city) {
    nav.replaceChildren(
      ...(session?.networks || []).map((n) => h("a", { href: link("/n/:network", { network: n.slug }) }, n.name)),
    );
    nav.hidden = !session?.networks?.length;
    return;
  }
  const role = roleIn(city);
  const here = location.hash;
  const items = ROUTES.filter((r) => r.nav && (!r.roles || r.roles.includes(role))).map((r) => {
    const href = link(r.path, { city });
    return h("a", { href, "aria-current": here === href ? "page" : null }, r.nav);
  });
  for (const n of session?.networks || []) {
    items.push(h("a", { href: link("/n/:network", { network: n.slug }) }, n.name));
  }
  nav.replaceChildren(...items);
}

async function render() {
  const ticket = ++rendering;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // a page that failed to stop cleanly must not stop the next one
    }
    cleanup = null;
  }
  const path = location.hash.replace(/^#/, "") || "/";
  if (!session && path !== "/sign-in") {
    sessionStorage.setItem("signalight.after-sign-in", path);
    location.replace("#/sign-in");
    return;
  }
  let found = match(path);
  if (!found || path === "/") {
    const first = cities[0]?.slug;
    if (session && first) {
      location.replace(link("/c/:city", { city: first }));
      return;
    }
    found = found || (session ? null : match("/sign-in"));
  }
  if (!found) {
    main.replaceChildren(h("h1", {}, "No such page"), h("p", {}, h("a", { href: "#/" }, "Go to the start page")));
    showChrome(null);
    return;
  }
  const { route, params } = found;
  if (params.city && !roleIn(params.city)) {
    showChrome(null);
    main.replaceChildren(h("h1", {}, "No such city"), h("p", {}, "You have no role in this city, or it does not exist."));
    return;
  }
  showChrome(params.city);
  if (offline) say("Offline: the server does not answer. This page shows what this tab last saw.", "error");
  else say("");
  const module = await import(`./pages/${route.page}.js`);
  if (ticket !== rendering) return; // another page was asked for meanwhile
  document.title = `${module.title} · Signalight`;
  main.replaceChildren();
  const ctx = {
    params,
    city: params.city,
    role: params.city ? roleIn(params.city) : null,
    session,
    cities,
    api,
    link,
    say,
    onAlarmEvent: (fn) => onAlarmEvent(params.city, fn),
    may: (needed) => mayAct(roleIn(params.city), needed),
    signedIn: async () => {
      await loadSession();
      const after = sessionStorage.getItem("signalight.after-sign-in");
      sessionStorage.removeItem("signalight.after-sign-in");
      location.replace(`#${after && after !== "/sign-in" ? after : "/"}`);
      if (location.hash === `#${after}`) render();
    },
  };
  try {
    cleanup = (await module.render(main, ctx)) || null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      session = null;
      sessionStorage.removeItem(KEPT);
      location.replace("#/sign-in");
      return;
    }
    if (err.name !== "AbortError") say(explain(err), "error");
  }
}

const RANK = { viewer: 0, crew: 1, operator: 2, admin: 3 };
function mayAct(role, needed) {
  return role !== null && role !== undefined && RANK[role] >= RANK[needed];
}

switcher.addEventListener("change", () => {
  // The same page in the other city; an asset's or an order's page becomes the city's home.
  const current = match(location.hash.replace(/^#/, ""));
  const path = current?.route.path || "/c/:city";
  closeStream();
  location.hash = link(path.includes(":id") || !path.startsWith("/c/") ? "/c/:city" : path, {
    city: switcher.value,
  });
});

signoutButton.addEventListener("click", async () => {
  try {
    await api("/auth/session", { method: "DELETE" });
  } catch {
    // Signed out on the server or not, this page forgets the session.
  }
  session = null;
  setCsrf(null);
  sessionStorage.removeItem(KEPT);
  closeStream();
  say("Signed out.", "ok");
  location.hash = "#/sign-in";
});

window.addEventListener("hashchange", render);

(async () => {
  try {
    await loadSession();
  } catch (err) {
    say(explain(err), "error");
  }
  render();
})();
