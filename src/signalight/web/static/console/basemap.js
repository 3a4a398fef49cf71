/*
 * The map's style. A city's own base map when SIGNALIGHT_MAP_STYLE_URL names
 * a MapLibre style (its sources may be a tile server or a PMTiles file,
 * "pmtiles://..."); otherwise a light base layer shipped in the package:
 * Natural Earth's countries and borders (world-atlas, 1:50m), so that the
 * lights are seen in place with no network at all.
 */

const WORLD = "/static/web/vendor/world-atlas/countries-50m.json";
let pmtilesReady = false;

// How far around the city the shipped base layer reaches, in degrees: the
// world's countries would cost the map's worker a second or more to tile.
const REACH_DEG = 6;

function bounds(geometry) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (coords) => {
    if (typeof coords[0] === "number") {
      if (coords[0] < w) w = coords[0];
      if (coords[0] > e) e = coords[0];
      if (coords[1] < s) s = coords[1];
      if (coords[1] > n) n = coords[1];
    } else for (const c of coords) walk(c);
  };
  if (geometry) walk(geometry.coordinates);
  return [w, s, e, n];
}

/** The style for maplibregl.Map, from the console's configuration, around [lon, lat]. */
export async function baseStyle(config, [lon, lat]) {
  if (config.map_style_url) {
    if (!pmtilesReady && window.pmtiles) {
      const protocol = new window.pmtiles.Protocol();
      window.maplibregl.addProtocol("pmtiles", protocol.tile);
      pmtilesReady = true;
    }
    return config.map_style_url;
  }
  const response = await fetch(WORLD, { cache: "force-cache" });
  const topology = await response.json();
  const near = topology.objects.countries.geometries.filter((geometry) => {
    const [w, s, e, n] = bounds(window.topojson.feature(topology, geometry).geometry);
    return w <= lon + REACH_DEG && e >= lon - REACH_DEG && s <= lat + REACH_DEG && n >= lat - REACH_DEG;
  });
  const around = { type: "GeometryCollection", geometries: near };
  const countries = window.topojson.feature(topology, around);
  const borders = window.topojson.mesh(topology, around, (a, b) => a !== b);
  return {
    version: 8,
    sources: {
      // 1:50m holds no detail past zoom 5: tiled that far and no farther, the
      // worker's work stays small whatever the zoom the city is seen at.
      land: { type: "geojson", data: countries, attribution: "Natural Earth", maxzoom: 5 },
      borders: { type: "geojson", data: borders, maxzoom: 5 },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#0e2233" } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": "#1d2a36" } },
      { id: "borders", type: "line", source: "borders", paint: { "line-color": "#51657a", "line-width": 1 } },
    ],
  };
}
