from geo_assets.querysets import RegisterQuerySet
from projects.access import funds_projects_q, projects_q


class ProjectQuerySet(RegisterQuerySet):
    def visible_to(self, user):
        q = projects_q(user, for_edit=False)
        return self if q is None else self.filter(q).distinct()

    def editable_by(self, user):
        q = projects_q(user, for_edit=True)
        return self if q is None else self.filter(q).distinct()

    def funds_editable_by(self, user):
        """The projects whose fund lines the user keeps (projects.access.edits_funds)."""
        q = funds_projects_q(user)
        return self if q is None else self.filter(q)
