// Shared English strings of every worker app (errors, connection, language switch).
export default {
  "lang.switch": "Language",
  "error.server": "Something went wrong on the server; your action is kept and sent again shortly",
  "error.network": "No connection to the server. Check the phone's internet and try again",
  "error.badRequest": "The server could not use what was sent; check the input and try again",
  "error.loginNeeded": "Your session has ended; log in again",
  "error.forbidden": "Your account may not do this; ask dispatch if you think it should",
  "error.notFound": "This no longer exists on the server; it may have been changed by dispatch",
  "error.timeout": "The server took too long to answer; try again",
  "error.conflict": "This was already changed elsewhere; the screen now shows the current state",
  "error.tooLarge": "This is too large to send",
  "error.tooMany": "Too many attempts in a short time; wait a minute and try again",
  "error.other": "The server answered {status}; try again or ask dispatch",
};
