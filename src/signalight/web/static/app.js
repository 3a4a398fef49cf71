/*
 * Signalight inventory page: sign in with an API token, pick a city, see its
 * assets on a canvas map and any one asset's details. Plain JavaScript with no
 * dependencies and no requests to any other host: no map tiles, fonts or CDNs.
 */

import { STYLES } from "./draw.js";
import { InventoryMap } from "./map.js";

const API = "/api/v1";
const TOKEN_KEY = "signalight.token"; // sessionStorage only: gone with the tab, never in a URL
const PAGE_LIMIT = 5000; // the API's largest page
const number = new Intl.NumberFormat("en-US");
const fmt = (n) => number.format(n);

const $ = (id) => document.getElementById(id);
const el = {
  status: $("status"),
  signin: $("signin"),
  form: $("signin-form"),
  token: $("token"),
  signout: $("signout"),
  inventory: $("inventory"),
  city: $("city"),
  facts: { name: $("city-name"), country: $("city-country"), timezone: $("city-timezone") },
  counts: {
    streetlight: $("count-streetlight"),
    cabinet: $("count-cabinet"),
    intersection: $("count-intersection"),
  },
  canvas: $("map"),
  legend: $("legend"),
  detailsEmpty: $("details-empty"),
  detailsFields: $("details-fields"),
};

const map = new InventoryMap(el.canvas, { onSelect: showDetails });
let token = null;
let loading = null; // the AbortController of the city being loaded

// ---- status line ---------------------------------------------------------

function setStatus(text, kind = "") {
  el.status.textContent = text;
  el.status.className = kind ? `status is-${kind}` : "status";
}

// ---- API -----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status; // 0 when the server could not be reached
  }
}

async function api(path, { signal, accept = "application/json" } = {}) {
  let response;
  try {
    response = await fetch(API + path, {
      headers: { Authorization: `Bearer ${token}`, Accept: accept },
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, err.message || "network error");
  }
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).message || message;
    } catch {
      // Not our JSON error (a proxy's page, say): the status text will do.
    }
    throw new ApiError(response.status, message);
  }
  return response.json();
}

function explain(err) {
  if (!(err instanceof ApiError)) return `Something went wrong on this page: ${err.message || err}`;
  switch (err.status) {
    case 0:
      return `Network error: the server at ${location.host} did not answer. Check the connection and try again.`;
    case 401:
      return "API token not accepted. Check it and sign in again.";
    case 403:
      return "This token may not read that city.";
    case 404:
      return "No such city.";
    case 503:
      return "The server cannot reach its database. Try again in a minute.";
    default:
      return `The server answered ${err.status}: ${err.message}`;
  }
}

function fail(err) {
  if (err && err.name === "AbortError") return; // superseded by a newer request
  if (err instanceof ApiError && err.status === 401) {
    forgetToken();
    showSignIn();
  }
  setStatus(explain(err), "error");
}

// ---- sign in and out -----------------------------------------------------

function forgetToken() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

function showSignIn() {
  el.inventory.hidden = true;
  el.signout.hidden = true;
  el.signin.hidden = false;
  el.token.value = "";
  el.token.focus();
}

async function signIn(candidate) {
  token = candidate;
  setStatus("Checking the token…", "busy");
  let cities;
  try {
    cities = await api("/cities");
  } catch (err) {
    token = null;
    fail(err);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, candidate);
  el.token.value = "";
  el.signin.hidden = true;
  el.signout.hidden = false;
  el.inventory.hidden = false;
  map.resize();
  el.city.replaceChildren(...cities.map((c) => new Option(`${c.name} (${c.country})`, c.slug)));
  if (cities.length === 0) {
    clearCity();
    setStatus("This token holds no role in any city.", "error");
    return;
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const slug = cities.some((c) => c.slug === wanted) ? wanted : cities[0].slug;
  el.city.value = slug;
  loadCity(slug);
}

function signOut() {
  forgetToken();
  clearCity();
  el.city.replaceChildren();
  history.replaceState(null, "", location.pathname + location.search);
  showSignIn();
  setStatus("Signed out. This tab has forgotten the token.");
}

// ---- one city ------------------------------------------------------------

function clearCity() {
  loading?.abort();
  loading = null;
  map.reset();
  el.canvas.removeAttribute("data-features");
  for (const target of Object.values(el.facts)) target.textContent = "–";
  for (const target of Object.values(el.counts)) {
    target.textContent = "–";
    delete target.dataset.count;
  }
  showDetails(null);
  renderLegend();
}

async function loadCity(slug) {
  clearCity();
  const controller = new AbortController();
  loading = controller;
  const { signal } = controller;
  const path = `/cities/${encodeURIComponent(slug)}`;
  history.replaceState(null, "", `#${encodeURIComponent(slug)}`); // a reload returns here
  const started = performance.now();
  try {
    setStatus("Loading the city…", "busy");
    const city = await api(path, { signal });
    signal.throwIfAborted(); // another city was chosen while this one was on its way
    el.facts.name.textContent = city.name;
    el.facts.country.textContent = city.country;
    el.facts.timezone.textContent = city.timezone;
    let total = 0;
    for (const [kind, target] of Object.entries(el.counts)) {
      const n = (city.assets || {})[kind] ?? 0;
      target.textContent = fmt(n);
      target.dataset.count = String(n);
      total += n;
    }
    setStatus(`Loading ${fmt(total)} assets…`, "busy");
    let cursor = null;
    do {
      const query = new URLSearchParams({ format: "geojson", limit: String(PAGE_LIMIT) });
      if (cursor) query.set("cursor", cursor);
      const page = await api(`${path}/assets?${query}`, { signal, accept: "application/geo+json" });
      signal.throwIfAborted();
      map.add(page.features || []);
      renderLegend();
      cursor = page.next_cursor;
      if (cursor) {
        setStatus(`Loaded ${fmt(map.count)} of ${fmt(Math.max(total, map.count))} assets…`, "busy");
      }
    } while (cursor);
    el.canvas.dataset.features = String(map.count);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    setStatus(`${city.name}: ${fmt(map.count)} assets loaded in ${seconds} s.`, "ok");
  } catch (err) {
    fail(err);
  } finally {
    if (loading === controller) loading = null;
  }
}

function renderLegend() {
  const counts = map.styleCounts();
  const items = STYLES.map((style, g) => ({ style, n: counts[g] }))
    // Every kind is listed; luminaire types only when the city has them.
    .filter(({ style, n }) => n > 0 || style.shape !== "dot");
  el.legend.replaceChildren(
    ...(map.count === 0 ? [] : items).map(({ style, n }) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch ${style.shape}`;
      swatch.style.background = style.color;
      const label = document.createElement("span");
      label.textContent = style.label;
      const count = document.createElement("span");
      count.className = "n";
      count.textContent = fmt(n);
      item.append(swatch, label, count);
      return item;
    }),
  );
}

// ---- details panel -------------------------------------------------------

const words = (v) => String(v).replaceAll("_", " ");
const COMMON = [
  ["Code", "code"],
  ["Kind", "kind", words],
  ["Name", "name"],
  ["Street", "street"],
  ["Street class", "street_class", words],
];
const BY_KIND = {
  streetlight: [
    ["Luminaire", "luminaire", (v) => (v === "led" || v === "hps" ? v.toUpperCase() : words(v))],
    ["Rated power", "rated_watts", (v) => `${fmt(v)} W`],
    ["Cabinet", "cabinet"],
  ],
  cabinet: [],
  intersection: [
    ["Cabinet", "cabinet"],
    ["Controller", "controller_id"],
    ["Vendor", "controller_vendor"],
    ["Phases", "phases", (v) => v.join(", ")],
  ],
};
const TAIL = [
  ["Device", "device"],
  ["Status", "status", words],
  ["Position", "lat", (_, p) => `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}`],
];

// Values go in with textContent only: asset fields come from imported files.
function showDetails(p) {
  if (!p) {
    el.detailsFields.hidden = true;
    el.detailsFields.replaceChildren();
    el.detailsEmpty.hidden = false;
    return;
  }
  const nodes = [];
  for (const [label, key, show] of [...COMMON, ...(BY_KIND[p.kind] || []), ...TAIL]) {
    const value = p[key];
    if (key === "name" && !value) continue; // most assets have none: no empty row
    const term = document.createElement("dt");
    term.textContent = label;
    const definition = document.createElement("dd");
    if (value === null || value === undefined || value === "") {
      definition.textContent = "—";
      definition.className = "none";
    } else {
      definition.textContent = show ? show(value, p) : String(value);
      if (key === "code") definition.className = "code";
    }
    nodes.push(term, definition);
  }
  el.detailsFields.replaceChildren(...nodes);
  el.detailsFields.hidden = false;
  el.detailsEmpty.hidden = true;
}

// ---- wiring and start-up -------------------------------------------------

el.form.addEventListener("submit", (e) => {
  e.preventDefault();
  const candidate = el.token.value.trim();
  if (candidate) signIn(candidate);
});
el.signout.addEventListener("click", signOut);
el.city.addEventListener("change", () => loadCity(el.city.value));
$("zoom-in").addEventListener("click", () => map.zoomCentre(1.6));
$("zoom-out").addEventListener("click", () => map.zoomCentre(1 / 1.6));
$("zoom-fit").addEventListener("click", () => map.fit());

// For tests and the curious: where an asset is drawn, in viewport pixels.
window.signalight = Object.freeze({
  screenPositionOf: (code) => map.screenPositionOf(code),
  featureCount: () => map.count,
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  signIn(saved);
} else {
  showSignIn();
  setStatus("Sign in with an API token to see your cities.");
}
