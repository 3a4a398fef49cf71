/*
 * The live map: every light, cabinet and intersection of the city coloured by
 * its status, clustered so that 100,000 lights stay fluid. The clusters are
 * made here with supercluster (its map/reduce in plain functions: a cluster
 * takes the rank of its worst member), and the map is handed only what the
 * view shows, a few hundred features, at each move's end: MapLibre's own
 * clustering would clone all the lights into its worker and take seconds. Alarm events from the stream recolour an asset
 * at once; the city's snapshot is read again shortly after, so that a cleared
 * or closed alarm leaves the status the server judges.
 */

import { baseStyle } from "../basemap.js";
import { SEVERITY_ORDER, STATUSES, STATUS_BY_KEY, badge, displayStatus, fmt, h, field } from "../ui.js";

export const title = "Map";

const REFRESH_AFTER_EVENT_MS = 3000;
const OPEN_STATES = new Set(["raised", "acknowledged"]);
const RANK_COLOURS = ["step", ["get", "rank"]];
{
  const ascending = [...STATUSES].sort((a, b) => a.rank - b.rank);
  RANK_COLOURS.push(ascending[0].color);
  for (const s of ascending.slice(1)) RANK_COLOURS.push(s.rank, s.color);
}
const CLUSTER_COLOURS = ["step", ["get", "worst"], ...RANK_COLOURS.slice(2)];

export async function render(root, ctx) {
  const stop = new AbortController();
  const snapshotPath = `/cities/${encodeURIComponent(ctx.city)}/map`;
  // Asked for first: the server judges the city while the map and its base load.
  const firstSnapshot = ctx.api(snapshotPath, { signal: stop.signal });
  firstSnapshot.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  const config = await (await fetch("/console/config.json", { cache: "no-store" })).json();
  const mapNode = h("div", { class: "map", role: "region", "aria-label": "Map of the city's assets by status" });
  const box = h("div", { class: "mapbox", id: "mapbox" }, mapNode);
  const legend = h("ul", { class: "legend", "aria-label": "Statuses shown" });
  const typeSelect = h("select", {}, h("option", { value: "" }, "All"));
  const cabinetSelect = h("select", {}, h("option", { value: "" }, "All"));
  const classSelect = h("select", {}, h("option", { value: "" }, "All"));
  const search = h("input", { type: "search", placeholder: "Pole code", autocomplete: "off" });
  const found = h("p", { class: "hint", "aria-live": "polite" });
  const side = h(
    "aside",
    { class: "mapside card", "aria-label": "Filters" },
    h("form", { role: "search", onsubmit: (e) => (e.preventDefault(), locate(search.value)) }, field("Find by code", search), found),
    h("h2", {}, "Status"),
    legend,
    field("Alarm type", typeSelect),
    field("Cabinet", cabinetSelect),
    field("Street class", classSelect),
    h("p", { class: "hint", id: "as-of" }),
  );
  root.append(h("div", { class: "pagehead" }, h("h1", {}, "Live map")), h("div", { class: "mappage" }, box, side));

  const maplibregl = window.maplibregl;
  maplibregl.setWorkerUrl("/static/web/vendor/maplibre/maplibre-gl-csp-worker.js");
  const here = ctx.cities.find((c) => c.slug === ctx.city);
  const centre = [here?.lon ?? 0, here?.lat ?? 0];
  const map = new maplibregl.Map({
    container: mapNode,
    style: await baseStyle(config, centre),
    center: centre,
    zoom: here ? 12 : 1,
    attributionControl: { compact: true },
    fadeDuration: 0,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  window.signalightMap = map; // for the browser tests and the benchmark

  let rows = []; // as the server sent them, by field name
  let fields = {};
  let byId = new Map(); // asset id -> its row
  const hiddenStatuses = new Set();
  let popup = null;

  // Marks on the page's timeline, read by bench/console_map.py.
  const loaded = new Promise((resolve) => map.on("load", () => resolve(performance.mark("map:style"))));

  async function fetchSnapshot(pending = null) {
    const data = await (pending || ctx.api(snapshotPath, { signal: stop.signal }));
    fields = Object.fromEntries(data.fields.map((name, i) => [name, i]));
    rows = data.rows;
    byId = new Map(rows.map((row) => [row[fields.id], row]));
    document.getElementById("as-of").textContent = `As of ${new Date(data.as_of).toLocaleTimeString("en-GB")}`;
    return data;
  }

  const get = (row, name) => row[fields[name]];
  const shownOf = (row) => displayStatus(get(row, "status"), get(row, "severity"));

  function featureCollection() {
    const type = typeSelect.value;
    const cabinet = cabinetSelect.value;
    const streetClass = classSelect.value;
    const features = [];
    for (const row of rows) {
      const shown = shownOf(row);
      if (hiddenStatuses.has(shown)) continue;
      if (type && !(get(row, "alarm_types") || []).includes(type)) continue;
      if (cabinet && String(get(row, "cabinet")) !== cabinet && String(get(row, "id")) !== cabinet) continue;
      if (streetClass && get(row, "street_class") !== streetClass) continue;
      features.push({
        type: "Feature",
        id: get(row, "id"),
        geometry: { type: "Point", coordinates: [get(row, "lon"), get(row, "lat")] },
        // As little as the map draws with: the worker clones and indexes every feature.
        properties: { id: get(row, "id"), rank: STATUS_BY_KEY[shown].rank },
      });
    }
    return { type: "FeatureCollection", features };
  }

  function updateLegend() {
    const counts = {};
    for (const row of rows) counts[shownOf(row)] = (counts[shownOf(row)] || 0) + 1;
    legend.replaceChildren(
      ...STATUSES.map((s) => {
        const box = h("input", { type: "checkbox", checked: !hiddenStatuses.has(s.key), dataset: { status: s.key } });
        box.addEventListener("change", () => {
          if (box.checked) hiddenStatuses.delete(s.key);
          else hiddenStatuses.add(s.key);
          redraw();
        });
        return h("li", {}, h("label", {}, box, badge(s.key), h("span", { class: "count", dataset: { count: counts[s.key] || 0 } }, fmt(counts[s.key] || 0))));
      }),
    );
  }

  function fillFilters() {
    const types = new Set();
    const classes = new Set();
    const cabinets = [];
    for (const row of rows) {
      for (const t of get(row, "alarm_types") || []) types.add(t);
      if (get(row, "street_class")) classes.add(get(row, "street_class"));
      if (get(row, "kind") === "cabinet") cabinets.push([get(row, "id"), get(row, "code")]);
    }
    const keep = (select, options) => {
      const value = select.value;
      select.replaceChildren(new Option("All", ""), ...options.map(([v, text]) => new Option(text, v)));
      select.value = options.some(([v]) => String(v) === value) ? value : "";
    };
    keep(typeSelect, [...types].sort().map((t) => [t, t]));
    keep(classSelect, [...classes].sort().map((c) => [c, c]));
    keep(cabinetSelect, cabinets.sort((a, b) => String(a[1]).localeCompare(String(b[1]))).map(([id, code]) => [String(id), code]));
  }

  let index = null; // supercluster over the assets shown
  const VIEW_PAD = 0.5; // of the view's size, each side: a pan shows what is already drawn

  function drawView() {
    const source = map.getSource("assets");
    if (!source || !index) return;
    const b = map.getBounds();
    const dx = (b.getEast() - b.getWest()) * VIEW_PAD;
    const dy = (b.getNorth() - b.getSouth()) * VIEW_PAD;
    const area = [
      Math.max(-180, b.getWest() - dx),
      Math.max(-85, b.getSouth() - dy),
      Math.min(180, b.getEast() + dx),
      Math.min(85, b.getNorth() + dy),
    ];
    const features = index.getClusters(area, Math.floor(map.getZoom()));
    source.setData({ type: "FeatureCollection", features });
    labelClusters(features);
  }

  // How many lights each cluster holds, written on it: the base map ships no
  // glyphs for MapLibre to draw text with, so the counts are small elements
  // that follow the map (a view holds a few hundred clusters at most).
  let labels = [];
  function labelClusters(features) {
    for (const label of labels) label.remove();
    labels = features
      .filter((f) => f.properties.cluster)
      .map((f) =>
        new maplibregl.Marker({
          element: h("span", { class: "cluster-count", "aria-hidden": "true" }, f.properties.point_count_abbreviated),
        })
          .setLngLat(f.geometry.coordinates)
          .addTo(map),
      );
  }

  function redraw() {
    const data = featureCollection();
    performance.mark("map:features");
    index = new window.Supercluster({
      radius: 50,
      maxZoom: 15, // lights are 30 m and more apart: from zoom 16 each is seen alone
      map: (props) => ({ worst: props.rank }),
      reduce: (into, props) => {
        if (props.worst > into.worst) into.worst = props.worst;
      },
    }).load(data.features);
    performance.mark("map:indexed");
    drawView();
    box.dataset.shown = String(data.features.length);
    updateLegend();
  }

  function addLayers() {
    map.addSource("assets", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    redraw();
    map.addLayer({
      id: "clusters",
      type: "circle",
      source: "assets",
      filter: ["has", "point_count"],
      paint: {
        "circle-color": CLUSTER_COLOURS,
        "circle-radius": ["step", ["get", "point_count"], 9, 50, 13, 500, 18, 5000, 24],
        "circle-stroke-color": "#0b1118",
        "circle-stroke-width": 2,
        "circle-opacity": 0.92,
      },
    });
    map.addLayer({
      id: "assets",
      type: "circle",
      source: "assets",
      filter: ["!", ["has", "point_count"]],
      paint: {
        "circle-color": RANK_COLOURS,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 3, 16, 6, 19, 9],
        "circle-stroke-color": "#0b1118",
        "circle-stroke-width": 1,
      },
    });
    map.on("click", "clusters", (event) => {
      const feature = event.features[0];
      const zoom = index.getClusterExpansionZoom(feature.properties.cluster_id);
      map.easeTo({ center: feature.geometry.coordinates, zoom });
    });
    map.on("moveend", drawView);
    map.on("click", "assets", (event) => show(event.features[0].properties.id));
    for (const layer of ["clusters", "assets"]) {
      map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
    }
  }

  function show(id) {
    const row = byId.get(id);
    if (!row) return;
    popup?.remove();
    const types = get(row, "alarm_types") || [];
    const content = h(
      "div",
      { class: "popup" },
      h("strong", {}, `${get(row, "kind")} ${get(row, "code")}`),
      h("div", {}, badge(shownOf(row))),
      types.length ? h("div", {}, types.join(", ")) : null,
      h("a", { href: ctx.link("/c/:city/assets/:id", { city: ctx.city, id }) }, "Open the asset page"),
    );
    popup = new maplibregl.Popup({ closeButton: true, maxWidth: "18rem" })
      .setLngLat([get(row, "lon"), get(row, "lat")])
      .setDOMContent(content)
      .addTo(map);
  }

  function locate(text) {
    const wanted = text.trim().toLowerCase();
    if (!wanted) return;
    const row = rows.find((r) => String(get(r, "code")).toLowerCase() === wanted) ||
      rows.find((r) => String(get(r, "code")).toLowerCase().startsWith(wanted));
    if (!row) {
      found.textContent = `No asset with the code ${text}.`;
      return;
    }
    found.textContent = `${get(row, "code")}: ${STATUS_BY_KEY[shownOf(row)].label}`;
    map.flyTo({ center: [get(row, "lon"), get(row, "lat")], zoom: 18, duration: 600 });
    map.once("moveend", () => show(get(row, "id")));
  }

  function fit() {
    if (!rows.length) return;
    let [w, s, e, n] = [180, 90, -180, -90];
    for (const row of rows) {
      const lon = get(row, "lon");
      const lat = get(row, "lat");
      if (lon < w) w = lon;
      if (lon > e) e = lon;
      if (lat < s) s = lat;
      if (lat > n) n = lat;
    }
    map.fitBounds([[w, s], [e, n]], { padding: 40, duration: 0, maxZoom: 17 });
  }

  // Live: an alarm raised recolours its asset at once; any event re-reads the snapshot soon.
  let refresh = null;
  const unlisten = ctx.onAlarmEvent((event) => {
    const alarm = event.alarm;
    if (alarm && alarm.asset_id !== null && OPEN_STATES.has(alarm.state)) {
      const row = byId.get(alarm.asset_id);
      if (row) {
        const before = get(row, "severity");
        const worse = !before || SEVERITY_ORDER[alarm.severity] < SEVERITY_ORDER[before];
        row[fields.status] = "alarm";
        if (worse) row[fields.severity] = alarm.severity;
        const types = get(row, "alarm_types") || [];
        if (!types.includes(alarm.type)) row[fields.alarm_types] = [...types, alarm.type];
        redraw();
      }
    }
    clearTimeout(refresh);
    refresh = setTimeout(async () => {
      try {
        await fetchSnapshot();
        fillFilters();
        redraw();
      } catch {
        // the next event tries again
      }
    }, REFRESH_AFTER_EVENT_MS);
  });

  for (const select of [typeSelect, cabinetSelect, classSelect]) select.addEventListener("change", redraw);

  ctx.say("Loading the map…", "busy");
  const [data] = await Promise.all([
    fetchSnapshot(firstSnapshot).then((answer) => (performance.mark("map:snapshot"), answer)),
    loaded,
  ]);
  fillFilters();
  addLayers();
  performance.mark("map:layers");
  updateLegend();
  fit();
  box.dataset.shown = String(rows.length);
  map.once("idle", () => {
    performance.mark("map:drawn");
    box.dataset.ready = "true";
    ctx.say(`${fmt(data.rows.length)} assets on the map.`);
  });

  return () => {
    stop.abort();
    clearTimeout(refresh);
    unlisten();
    popup?.remove();
    for (const label of labels) label.remove();
    map.remove();
    delete window.signalightMap;
  };
}
