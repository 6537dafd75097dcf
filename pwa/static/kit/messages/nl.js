// Gedeelde Nederlandse teksten van alle apps (fouten, verbinding, taalkeuze).
export default {
  "lang.switch": "Taal",
  "error.server": "Er ging iets mis op de server; je actie is bewaard en wordt zo opnieuw verstuurd",
  "error.network": "Geen verbinding met de server. Controleer het internet op je telefoon en probeer het opnieuw",
  "error.badRequest": "De server kon niets met wat er verstuurd is; controleer de invoer en probeer het opnieuw",
  "error.loginNeeded": "Je sessie is verlopen; log opnieuw in",
  "error.forbidden": "Dit mag niet met jouw account; vraag het de planning als je denkt dat het wel zou moeten",
  "error.notFound": "Dit bestaat niet meer op de server; misschien heeft de planning het gewijzigd",
  "error.timeout": "De server deed er te lang over; probeer het opnieuw",
  "error.conflict": "Dit is intussen ergens anders gewijzigd; het scherm toont nu de actuele stand",
  "error.tooLarge": "Dit is te groot om te versturen",
  "error.tooMany": "Te veel pogingen in korte tijd; wacht een minuut en probeer het opnieuw",
  "error.other": "De server antwoordde {status}; probeer het opnieuw of vraag het de planning",
};
