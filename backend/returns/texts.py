"""The Dutch and English of every text key the returns core hands out (checklist questions, task
steps), so the apps and the core agree and a test can show none is missing. Very few words:
the task screen is for people with little training or little Dutch."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "returns.check.tagsOn": {"en": "Tags still on?", "nl": "Labels er nog aan?"},
    "returns.check.worn": {"en": "Worn?", "nl": "Gedragen?"},
    "returns.check.stains": {"en": "Stains?", "nl": "Vlekken?"},
    "returns.check.smell": {"en": "Smells?", "nl": "Ruikt het?"},
    "returns.check.damage": {"en": "Damaged?", "nl": "Beschadigd?"},
    "returns.check.powersOn": {"en": "Switches on?", "nl": "Gaat het aan?"},
    "returns.check.accessoriesComplete": {"en": "All accessories there?", "nl": "Alle accessoires erbij?"},
    "returns.check.screenOk": {"en": "Screen all right?", "nl": "Scherm in orde?"},
    "returns.check.dataWiped": {"en": "Data wiped?", "nl": "Gegevens gewist?"},
    "returns.check.partsComplete": {"en": "All parts there?", "nl": "Alle onderdelen erbij?"},
    "returns.check.scratches": {"en": "Scratches?", "nl": "Krassen?"},
    "returns.check.complete": {"en": "Complete?", "nl": "Compleet?"},
    "returns.check.packagingOk": {"en": "Packaging all right?", "nl": "Verpakking in orde?"},
    "returns.step.unpack": {"en": "Unpack", "nl": "Uitpakken"},
    "returns.step.clean": {"en": "Clean", "nl": "Schoonmaken"},
    "returns.step.wash": {"en": "Wash", "nl": "Wassen"},
    "returns.step.iron": {"en": "Iron", "nl": "Strijken"},
    "returns.step.test": {"en": "Test", "nl": "Testen"},
    "returns.step.repair": {"en": "Repair", "nl": "Repareren"},
    "returns.step.replacePart": {"en": "Replace part", "nl": "Onderdeel vervangen"},
    "returns.step.repackage": {"en": "Pack", "nl": "Inpakken"},
    "returns.step.photograph": {"en": "Take photo", "nl": "Foto maken"},
    "returns.step.relabel": {"en": "New label", "nl": "Nieuw label"},
    "returns.step.qualityCheck": {"en": "Final check", "nl": "Eindcontrole"},
}
LANGUAGES = ("en", "nl")
