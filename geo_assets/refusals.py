"""A rule's answer, shared by every workflow's rules (lifecycle.rules, projects.rules): None (go ahead) or a Refusal
that says why in the user's language. Services raise it (`enforce`), pages show a step only when there is none."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError


@dataclass(frozen=True)
class Refusal:
    message: str
    field: str = "status"
    who: bool = False  # the actor may never take it (PermissionDenied), rather than "not now" (ValidationError)

    def raise_(self):
        if self.who:
            raise PermissionDenied(self.message)
        raise ValidationError({self.field: self.message})


def enforce(refusal: "Refusal | None") -> None:
    if refusal is not None:
        refusal.raise_()


def first(*rules) -> Refusal | None:
    """The first refusal of several rules, evaluated in order (later ones may assume the earlier passed)."""
    for rule in rules:
        refusal = rule()
        if refusal is not None:
            return refusal
    return None
