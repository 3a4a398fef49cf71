/*
 * The city's calendar, on its own clock whatever the browser's zone: today,
 * this month, the days of a month, a day or a month before or after. Days
 * are "YYYY-MM-DD" and months "YYYY-MM", as the API takes them.
 */

/** "2024-05-03" of the day it is now in the zone. */
export function dayNow(zone, now = Date.now()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(now));
}

/** The day ``delta`` days after "2024-05-03". */
export function shiftDay(day, delta) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + delta)).toISOString().slice(0, 10);
}

/** "2024-05" of the month it is now in the zone. */
export function monthNow(zone, now = Date.now()) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit" }).formatToParts(new Date(now));
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}`;
}

/** The month ``delta`` months after "2024-05": shift("2024-12", 1) is "2025-01". */
export function shiftMonth(month, delta) {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 1 + delta, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The first and last day of a month, "YYYY-MM-DD", and how many days it has. */
export function monthDays(month) {
  const [y, m] = month.split("-").map(Number);
  const count = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { first: `${month}-01`, last: `${month}-${String(count).padStart(2, "0")}`, count };
}

/** "May 2024". */
export function monthWords(month) {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, 1)).toLocaleDateString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
}
