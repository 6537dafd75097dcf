// Nederlandse teksten van de panelen (het panelendeel vervangt dit bestand).
export default {
  "panels.none": "Niets gekozen.",
};
