// A stub of the desk's panels until the panels part lands (it replaces this file):
// each returns an empty template; startPanels does nothing.
import { nothing } from "../../kit/html.js";

export const toolbar = (_desk) => nothing;
export const detailsPanel = (_desk) => nothing;
export const alertsPanel = (_desk) => nothing;
export const figuresPanel = (_desk) => nothing;
export function startPanels(_desk) {}
