/*
 * One server-sent-events connection per city to its alarm stream, shared by
 * every page that listens. EventSource sends the session cookie and resumes
 * after the last event id by itself when the connection drops.
 */

import { API } from "./api.js";

let current = null; // { city, source, listeners: Set }

/** Listen to the city's alarm events; answers a function that stops listening. */
export function onAlarmEvent(city, listener) {
  if (!current || current.city !== city) {
    current?.source.close();
    const source = new EventSource(`${API}/cities/${encodeURIComponent(city)}/alarms/stream`);
    current = { city, source, listeners: new Set() };
    const mine = current;
    source.addEventListener("alarm", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return; // not ours
      }
      for (const fn of mine.listeners) fn(event);
    });
  }
  const mine = current;
  mine.listeners.add(listener);
  return () => mine.listeners.delete(listener);
}

/** Close the stream (sign-out, another city). */
export function closeStream() {
  current?.source.close();
  current = null;
}
