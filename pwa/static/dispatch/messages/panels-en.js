// English strings of the desk's panels (the panels part replaces this file).
export default {
  "panels.none": "Nothing selected.",
};
