from geo_assets.querysets import RegisterQuerySet
from projects.access import projects_q


class ProjectQuerySet(RegisterQuerySet):
    def visible_to(self, user):
        q = projects_q(user, for_edit=False)
        return self if q is None else self.filter(q).distinct()

    def editable_by(self, user):
        q = projects_q(user, for_edit=True)
        return self if q is None else self.filter(q).distinct()
