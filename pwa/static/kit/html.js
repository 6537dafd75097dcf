// Templates that escape by default: every ${value} in html`...` is text or an
// attribute value, never markup. Re-exported so apps import from one place.
export { html, render, nothing, svg } from "../vendor/lit-html/lit-html.js";
