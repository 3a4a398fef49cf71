/*
 * Every page of the console, in one table. A page is a module of pages/ that
 * exports `title` and `render(root, ctx)`; render may return a function that
 * stops what the page started (timers, streams, the map). A capability adds a
 * page by adding one line here and one module.
 *
 * `nav` puts the page in the city's menu, for the roles listed (all if none).
 */

export const ROUTES = [
  { path: "/sign-in", page: "signin", public: true },
  { path: "/c/:city", page: "home", nav: "Home" },
  { path: "/c/:city/map", page: "map", nav: "Map" },
  { path: "/c/:city/alarms", page: "alarms", nav: "Alarms" },
  { path: "/c/:city/work-orders", page: "work-orders", nav: "Work orders" },
  { path: "/c/:city/work-orders/:id", page: "work-order" },
  { path: "/c/:city/crew", page: "crew", nav: "My orders", roles: ["crew", "operator", "admin"] },
  { path: "/c/:city/assets/:id", page: "asset" },
  { path: "/c/:city/signals", page: "signals", nav: "Signals" },
  { path: "/c/:city/signals/:id", page: "signal" },
  { path: "/c/:city/energy", page: "energy", nav: "Energy" },
  { path: "/n/:network", page: "network" },
];

/** The route and its parameters for a hash path such as "/c/demo/assets/12", or null. */
export function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const route of ROUTES) {
    const want = route.path.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length; i += 1) {
      if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(parts[i]);
      else if (want[i] !== parts[i]) ok = false;
    }
    if (ok) return { route, params };
  }
  return null;
}

/** The hash of a route with its parameters filled in: link("/c/:city/map", {city: "x"}). */
export function link(path, params = {}) {
  return `#${path.replace(/:(\w+)/g, (_, key) => encodeURIComponent(params[key]))}`;
}
