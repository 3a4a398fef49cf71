/*
 * The map's style. A city's own base map when SIGNALIGHT_MAP_STYLE_URL names
 * a MapLibre style (its sources may be a tile server or a PMTiles file,
 * "pmtiles://..."); otherwise a light base layer shipped in the package:
 * Natural Earth's countries and borders (world-atlas, 1:50m), so that the
 * lights are seen in place with no network at all.
 */

const WORLD = "/static/web/vendor/world-atlas/countries-50m.json";
let pmtilesReady = false;

/** The style for maplibregl.Map, from the console's configuration. */
export async function baseStyle(config) {
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
  const countries = window.topojson.feature(topology, topology.objects.countries);
  const borders = window.topojson.mesh(topology, topology.objects.countries, (a, b) => a !== b);
  return {
    version: 8,
    sources: {
      land: { type: "geojson", data: countries, attribution: "Natural Earth" },
      borders: { type: "geojson", data: borders },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#0e2233" } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": "#1d2a36" } },
      { id: "borders", type: "line", source: "borders", paint: { "line-color": "#51657a", "line-width": 1 } },
    ],
  };
}
