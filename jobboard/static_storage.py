"""Static files storage: whitenoise's compressed, hashed storage, tolerant of a missing source map.

Django rewrites a stylesheet's or script's `sourceMappingURL` comment to the map's hashed name,
and `collectstatic` fails when the map is not shipped: GraphiQL's vendored `graphiql.min.css`
names a map its package leaves out. A source map is a debugging aid only, so such a comment is
left as written; every other reference (`url()`, `@import`) must still resolve.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def url_converter(self, name, hashed_files, template=None):
        convert = super().url_converter(name, hashed_files, template)

        def converter(matchobj):
            try:
                return convert(matchobj)
            except ValueError:
                if "sourceMappingURL" in matchobj["matched"]:
                    return matchobj["matched"]
                raise

        return converter
