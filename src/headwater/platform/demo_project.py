"""The demo project ``headwater up`` creates on a platform without projects, its apps deployed.

Its three apps (template ``demo``) pass records along ``demo-orders`` -> ``demo-features`` ->
``demo-scores``. A local broker keeps nothing between starts, so the topics are created (when
missing) on every start, before the deployments run: an app refuses to start without its inputs.
"""

from __future__ import annotations

from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.platform.deployments.service import DeploymentService
from headwater.platform.errors import NotFound
from headwater.platform.projects.manifest import MANIFEST_FILE, parse_manifest
from headwater.platform.projects.store import ProjectStore
from headwater.platform.projects.templates import template_files, topic_names
from headwater.topic import Topic

DEMO_PROJECT = "demo"
DEMO_TEMPLATE = "demo"
# The topics the template's apps declare (its defaults for this project), with the same
# partition counts.
DEMO_TOPIC_NAMES = topic_names(DEMO_TEMPLATE, DEMO_PROJECT)
DEMO_TOPICS = tuple(Topic(name, partitions=3) for name in DEMO_TOPIC_NAMES.values())
SCORES_TOPIC = DEMO_TOPIC_NAMES["scores"]


def demo_exists(projects: ProjectStore) -> bool:
    try:
        projects.get(DEMO_PROJECT)
    except NotFound:
        return False
    return True


def create_demo_topics(settings: KafkaSettings) -> list[str]:
    """Create the demo's topics that are missing; returns the names created."""
    return TopicAdmin(settings).create(list(DEMO_TOPICS))


def create_demo(projects: ProjectStore, deployments: DeploymentService, author: str) -> list[str]:
    """Create the demo project and deploy each of its apps; returns the app names."""
    projects.create(
        DEMO_PROJECT,
        "Live demo: synthetic orders, windowed features, a scorer",
        DEMO_TEMPLATE,
        author,
    )
    manifest = parse_manifest(template_files(DEMO_TEMPLATE, DEMO_PROJECT)[MANIFEST_FILE])
    for app in manifest.apps:
        deployments.create(DEMO_PROJECT, app.name, author)
    return [app.name for app in manifest.apps]
