"""field recorder (执法全过程记录): the laptop app for labour-inspection field work.

Only ``field_app.ui`` may import Qt; see docs/architecture.md for the layers and the import rules.
"""

__version__ = "0.1.0"
APP_NAME_ZH = "执法全过程记录"
