"""communitybench: a pipeline that builds a benchmark of community-level preferences.

Importing the package applies the offline defaults from ``communitybench.env`` so that no
command ever reaches for a model hub, telemetry endpoint or update check.
"""

from communitybench.env import apply_offline_defaults

apply_offline_defaults()

__version__ = "0.1.0"
