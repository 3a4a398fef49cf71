/*
 * The alarms' words, shared by the home page and the alarms board: each fault
 * type and state as an operator reads it.
 */

export const TYPES = [
  ["lampFailure", "Lamp failure"],
  ["lampUnexpectedOn", "Lamp on by day"],
  ["cyclingFailure", "Cycling lamp"],
  ["dimmingFailure", "Dimming failure"],
  ["highPower", "High power"],
  ["highVoltage", "High voltage"],
  ["lowVoltage", "Low voltage"],
  ["lowPowerFactor", "Low power factor"],
  ["nodeFault", "Node fault"],
  ["orientationChanged", "Pole tilted"],
  ["communicationFailure", "Communication failure"],
  ["supplyLoss", "Cabinet supply lost"],
  ["signalFlash", "Signal in flash"],
  ["signalDark", "Signal dark"],
  ["conflictFlash", "Conflict flash"],
  ["redLampFailure", "Red lamp out"],
  ["manualControl", "Manual control"],
  ["stopTime", "Stop time on"],
  ["mainsFailure", "Signal mains lost"],
  ["batteryLow", "Battery low"],
  ["doorOpenUnauthorised", "Cabinet door break-in"],
  ["doorOpenTooLong", "Cabinet door open too long"],
  ["cabinetAlarm", "Cabinet alarm"],
  ["detectorFault", "Detector fault"],
  ["pedestrianDetectorFault", "Push button fault"],
];
const TYPE_WORDS = Object.fromEntries(TYPES);

/** A fault type in words (its API name when it is one this page does not know). */
export const typeWords = (type) => TYPE_WORDS[type] || type;

export const STATE_WORDS = {
  raised: "Raised",
  acknowledged: "Acknowledged",
  cleared: "Cleared",
  closed: "Closed",
};
