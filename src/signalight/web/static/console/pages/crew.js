/*
 * The crew's view, phone first: my work orders, nearest first when the phone
 * may say where it is (else by due time, and the page says which), their
 * assets on one small map, and big Start / Note / Photo / Finish buttons.
 *
 * Made for a slow connection: one list request (the orders not done yet), the
 * assets' places read once and kept, each step changes only its own card, and
 * the last list is kept in sessionStorage so that a reload while the network
 * is gone still shows the orders, said to be possibly out of date.
 */

import { explain } from "../api.js";
import { baseStyle } from "../basemap.js";
import { h, when } from "../ui.js";
import {
  busy,
  dueText,
  finishForm,
  noteForm,
  ordersPath,
  outcomeLine,
  photoInput,
  priorityBadge,
  stateBadge,
  steps,
} from "../workorders.js";

export const title = "My work orders";

const ACTIVE_STATES = ["assigned", "in_progress"];
const PLACES_KEY = "signalight.crew.places"; // asset id -> [lon, lat], per city

function listKey(ctx) {
  return `signalight.crew.${ctx.city}.${ctx.session.username}`;
}

function readJson(key, fallback) {
  try {
    return JSON.parse(sessionStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function writeJson(key, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // A full or refused storage only loses the offline copy.
  }
}

/** Metres between two [lon, lat] points (haversine). */
function distance(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(s));
}

const metres = (m) => (m < 1000 ? `${Math.round(m)} m away` : `${(m / 1000).toFixed(1)} km away`);

/** Where the phone is, only if the user already allowed it (no prompt on every visit). */
async function hereIfGranted() {
  if (!navigator.geolocation || !navigator.permissions) return null;
  try {
    const status = await navigator.permissions.query({ name: "geolocation" });
    if (status.state !== "granted") return null;
  } catch {
    return null;
  }
  return askHere();
}

function askHere() {
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve([p.coords.longitude, p.coords.latitude]),
      () => resolve(null),
      { enableHighAccuracy: false, maximumAge: 60000, timeout: 8000 },
    );
  });
}

export async function render(root, ctx) {
  const stop = new AbortController();
  const placesAll = readJson(PLACES_KEY, {});
  const places = (placesAll[ctx.city] ||= {});
  const sortLine = h("p", { class: "hint", id: "crew-sort", "aria-live": "polite" });
  const freshness = h("p", { class: "hint", id: "crew-fresh", "aria-live": "polite" });
  const list = h("ol", { class: "crewlist", "aria-label": "My work orders" });
  const nearButton = h("button", { type: "button", class: "btn" }, "Nearest first (use my location)");
  const mapNode = h("div", { class: "crewmap", role: "region", "aria-label": "Map of my orders' assets" });
  root.append(
    h("div", { class: "pagehead" }, h("h1", {}, "My work orders")),
    h("div", { class: "crewbar" }, sortLine, nearButton),
    freshness,
    mapNode,
    list,
  );

  let orders = [];
  let here = null;
  let map = null;
  let markers = [];

  function save(stale = false) {
    writeJson(listKey(ctx), { saved_at: new Date().toISOString(), items: orders });
    if (!stale) freshness.textContent = `Up to date as of ${when(new Date().toISOString())}.`;
  }

  function sorted() {
    const byDue = (a, b) => (a.due_at < b.due_at ? -1 : a.due_at > b.due_at ? 1 : a.id - b.id);
    if (!here) return [...orders].sort(byDue);
    const far = (o) => (places[o.asset_id] ? distance(here, places[o.asset_id]) : Infinity);
    return [...orders].sort((a, b) => far(a) - far(b) || byDue(a, b));
  }

  function drawList() {
    const shown = sorted();
    sortLine.textContent = here ? "Nearest first, from where you are." : "By due time, soonest first (your location is not shared).";
    nearButton.hidden = Boolean(here) || !navigator.geolocation;
    list.replaceChildren(...shown.map((o, i) => card(o, i + 1)));
    if (!shown.length) list.append(h("li", { class: "card" }, "No work order is assigned to you now."));
    drawMarkers(shown);
  }

  function card(o, n) {
    const node = h("li", { class: "card crewcard", dataset: { order: o.id, state: o.state } });
    fillCard(node, o, n);
    return node;
  }

  function fillCard(node, o, n) {
    node.dataset.state = o.state;
    const act = steps(ctx, o.id);
    const panel = h("div", { class: "crewpanel" });
    const replace = (updated) => {
      const i = orders.findIndex((x) => x.id === updated.id);
      if (i >= 0) orders[i] = { ...orders[i], ...updated };
      save();
      fillCard(node, orders[i >= 0 ? i : 0], n);
    };
    const buttons = [];
    const open = (form) => panel.replaceChildren(form);
    if (o.state === "assigned") {
      const start = h("button", { type: "button", class: "btn btn-primary btn-big" }, "Start");
      start.addEventListener("click", () =>
        busy(start, "Starting…", async () => {
          replace(await act.start());
          ctx.say(`Work order #${o.id} started.`, "ok");
        }, ctx),
      );
      buttons.push(start);
    }
    if (o.state === "assigned" || o.state === "in_progress") {
      const note = h("button", { type: "button", class: "btn btn-big", "aria-expanded": "false" }, "Note");
      note.addEventListener("click", () => {
        note.setAttribute("aria-expanded", "true");
        open(
          noteForm(ctx, async (text) => {
            await act.note(text);
            panel.replaceChildren(h("p", { class: "done" }, "Note saved."));
            note.setAttribute("aria-expanded", "false");
          }, { big: true }),
        );
        panel.querySelector("textarea").focus();
      });
      buttons.push(note);
      let photos = 0;
      buttons.push(
        photoInput(ctx, async (file) => {
          await act.photo(file);
          photos += 1;
          panel.replaceChildren(h("p", { class: "done" }, `Photo sent (${photos} this visit).`));
        }, { big: true }),
      );
    }
    if (o.state === "in_progress") {
      const finish = h("button", { type: "button", class: "btn btn-big", "aria-expanded": "false" }, "Finish");
      finish.addEventListener("click", () => {
        finish.setAttribute("aria-expanded", "true");
        open(
          finishForm(ctx, async (body) => {
            replace(await act.finish(body));
            ctx.say(`Work order #${o.id} finished.`, "ok");
          }, { big: true }),
        );
      });
      buttons.push(finish);
    }
    const place = places[o.asset_id];
    // replaceChildren would write a null as the word; h() leaves nulls out, so filter here too.
    node.replaceChildren(
      ...[
      h(
        "h2",
        {},
        h("span", { class: "marker-no", "aria-hidden": "true" }, String(n)),
        h("a", { href: ctx.link("/c/:city/work-orders/:id", { city: ctx.city, id: o.id }) }, `#${o.id} ${o.asset}`),
      ),
      h("p", { class: "crewtitle" }, o.title),
      h("p", { class: "crewmeta" }, stateBadge(o.state), " ", priorityBadge(o.priority), " ", dueText(o)),
      here && place ? h("p", { class: "hint" }, metres(distance(here, place))) : null,
      outcomeLine(o),
      buttons.length ? h("div", { class: "crewbuttons" }, ...buttons) : null,
      panel,
      ].filter(Boolean),
    );
  }

  async function loadPlaces() {
    const missing = [...new Set(orders.map((o) => o.asset_id).filter((a) => a && !places[a]))];
    await Promise.all(
      missing.map(async (assetId) => {
        try {
          const asset = await ctx.api(`/cities/${encodeURIComponent(ctx.city)}/assets/${assetId}`, { signal: stop.signal });
          places[assetId] = [asset.lon, asset.lat];
        } catch {
          // no place: the order is listed, not mapped
        }
      }),
    );
    writeJson(PLACES_KEY, placesAll);
  }

  async function startMap() {
    const maplibregl = window.maplibregl;
    const points = orders.map((o) => places[o.asset_id]).filter(Boolean);
    if (!maplibregl || !points.length) {
      mapNode.hidden = true;
      return;
    }
    // The shipped base layer is cut around one place: the middle of the orders.
    const centre = [0, 1].map((k) => points.reduce((sum, p) => sum + p[k], 0) / points.length);
    const config = await (await fetch("/console/config.json", { cache: "no-store" })).json();
    maplibregl.setWorkerUrl("/static/web/vendor/maplibre/maplibre-gl-csp-worker.js");
    map = new maplibregl.Map({
      container: mapNode,
      style: await baseStyle(config, centre),
      center: centre,
      zoom: 14,
      attributionControl: { compact: true },
      fadeDuration: 0,
      cooperativeGestures: true,
    });
    window.signalightCrewMap = map; // for the browser tests
    map.on("load", () => {
      mapNode.dataset.ready = "true";
      drawMarkers(sorted());
    });
  }

  function drawMarkers(shown) {
    if (!map) return;
    for (const m of markers) m.remove();
    markers = [];
    const bounds = new window.maplibregl.LngLatBounds();
    shown.forEach((o, i) => {
      const place = places[o.asset_id];
      if (!place) return;
      const element = h("span", { class: "crewpin", title: `#${o.id} ${o.asset}`, "aria-hidden": "true" }, String(i + 1));
      markers.push(new window.maplibregl.Marker({ element }).setLngLat(place).addTo(map));
      bounds.extend(place);
    });
    if (here) bounds.extend(here);
    mapNode.dataset.markers = String(markers.length);
    if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, maxZoom: 17, duration: 0 });
  }

  async function load() {
    const query = new URLSearchParams({ mine: "true", limit: "200" });
    for (const s of ACTIVE_STATES) query.append("state", s);
    const page = await ctx.api(`${ordersPath(ctx.city)}?${query}`, { signal: stop.signal });
    orders = page.items;
    save();
  }

  nearButton.addEventListener("click", () =>
    busy(nearButton, "Finding where you are…", async () => {
      here = await askHere();
      if (!here) ctx.say("Your location could not be read: the orders stay by due time.", "error");
      drawList();
    }, ctx),
  );

  // The last list first, so that a dead connection still shows something.
  const kept = readJson(listKey(ctx), null);
  if (kept) {
    orders = kept.items;
    freshness.textContent = `Saved at ${when(kept.saved_at)}; checking for changes…`;
    drawList();
  }
  ctx.say("Loading your work orders…", "busy");
  try {
    await load();
    ctx.say("");
  } catch (err) {
    if (err.name === "AbortError") return () => stop.abort();
    if (!kept || err.status === 401) throw err;
    freshness.textContent = `Possibly out of date: these are the orders as saved at ${when(kept.saved_at)}; the server could not be reached.`;
    freshness.classList.add("is-stale");
    ctx.say(explain(err), "error");
  }
  here = await hereIfGranted();
  drawList();
  loadPlaces()
    .then(() => {
      drawList();
      return startMap();
    })
    .catch((err) => {
      mapNode.hidden = true; // the list works without the map
      mapNode.dataset.error = String(err?.message || err);
    });

  return () => {
    stop.abort();
    map?.remove();
    delete window.signalightCrewMap;
  };
}
