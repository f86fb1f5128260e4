"""Each training task's defaults, held in one place, and the function that resolves them.

A task's defaults are its config classes' own defaults (``TrainerConfig``, the task's data
config and its model's config), changed only by the values the task's file in this folder sets
(``lm.yaml``, ``classify.yaml``, ``tag.yaml``, ``translate.yaml``, ``summarize.yaml``,
``bilm.yaml``, shipped with the package): for every key, the value is

    config class default  <-  the task's YAML  <-  the caller's values

``rnnkit train TASK`` (with ``--config`` and ``--section.key=value`` on top) and ``resolve``
below read the same files, so the command line and Python train the same model by default.

Why the config classes plus a short YAML per task: one model or trainer config serves several
recipes (``TrainerConfig`` all six, ``LanguageModelConfig`` the character- and word-level LMs,
``LanguageModel(vocab_size)`` itself), so a task's own choices cannot live in the class without
changing what the class gives everyone else; written as YAML they read like a ``--config`` file.

Example:
    >>> from rnnkit.tasks.defaults import resolve
    >>> from rnnkit.tasks.lm import train_lm
    >>> cfg = resolve("lm", trainer={"max_time": 60})
    >>> cfg.trainer.max_epochs, cfg.model_config().hidden_size
    (10, 512)
    >>> train_lm(cfg.data, cfg.model, cfg.trainer, "runs/lm")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from rnnkit.config import Config
from rnnkit.models import ClassifierConfig, LanguageModelConfig, Seq2SeqConfig, TaggerConfig
from rnnkit.models.bilm import BiLMConfig
from rnnkit.tasks.bilm import BiLMDataConfig
from rnnkit.tasks.classify import ClassifyDataConfig
from rnnkit.tasks.lm import LMDataConfig
from rnnkit.tasks.summarize import SummarizeDataConfig
from rnnkit.tasks.summarize_auto import check_monitor
from rnnkit.tasks.summarize_model import SummarizeModelConfig, split_model_options
from rnnkit.tasks.tag import TagDataConfig
from rnnkit.tasks.translate import TranslateDataConfig
from rnnkit.training import TrainerConfig

__all__ = ["COMPUTED", "SECTIONS", "TASKS", "TaskConfig", "defaults", "resolve", "schema"]

SECTIONS = ("model", "trainer", "data")

#: task -> (model config class, data config class)
_CLASSES: dict[str, tuple[type[Config], type[Config]]] = {
    "lm": (LanguageModelConfig, LMDataConfig),
    "classify": (ClassifierConfig, ClassifyDataConfig),
    "tag": (TaggerConfig, TagDataConfig),
    "translate": (Seq2SeqConfig, TranslateDataConfig),
    "summarize": (SummarizeModelConfig, SummarizeDataConfig),
    "bilm": (BiLMConfig, BiLMDataConfig),
}
TASKS = tuple(_CLASSES)

#: model keys each recipe sets itself from the data (refused from callers)
COMPUTED: dict[str, tuple[str, ...]] = {
    "lm": ("vocab_size",),
    "classify": ("vocab_size", "num_classes", "multi_label", "bilm_config"),
    "tag": ("vocab_size", "num_tags", "unk_id", "bilm_config"),
    "translate": ("source_vocab_size", "target_vocab_size", "bos_id"),
    "summarize": ("vocab_size",),
    "bilm": ("vocab_size", "num_chars"),
}


def _check_task(task: str) -> None:
    if task not in _CLASSES:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


def schema(task: str) -> dict[str, type[Config]]:
    """The config class of each section of ``task``: ``{"model", "trainer", "data"}``."""
    _check_task(task)
    model, data = _CLASSES[task]
    return {"model": model, "trainer": TrainerConfig, "data": data}


@functools.cache
def _read(task: str) -> dict[str, dict[str, Any]]:
    text = resources.files(__name__).joinpath(f"{task}.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text) or {}
    return {section: dict(loaded.get(section) or {}) for section in SECTIONS}


def defaults(task: str) -> dict[str, dict[str, Any]]:
    """What ``task`` changes from its config classes' defaults, by section (a fresh copy).

    Example:
        >>> defaults("lm")["model"]["init_range"]
        1.0
    """
    _check_task(task)
    return copy.deepcopy(_read(task))


@dataclass
class TaskConfig:
    """A task's resolved configuration: what its ``train_*`` recipe takes.

    Attributes:
        task: the task's name.
        data: the task's data config (e.g. ``LMDataConfig``).
        model: the model options the recipe passes to the model (the task's and the caller's;
            every other model field keeps its class default): ``model_config()`` spells them out.
        trainer: the ``TrainerConfig``.
    """

    task: str
    data: Any
    model: dict[str, Any]
    trainer: TrainerConfig

    def model_config(self) -> Any:
        """Every model field: the model config class filled with ``model`` (the keys set from
        the data keep their placeholders)."""
        return schema(self.task)["model"].from_dict(copy.deepcopy(self.model))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Every value of every section (the model's data-set keys left out)."""
        model = self.model_config().to_dict()
        for key in COMPUTED[self.task]:
            model.pop(key, None)
        return {"model": model, "trainer": self.trainer.to_dict(), "data": self.data.to_dict()}


def resolve(
    task: str,
    model: dict[str, Any] | None = None,
    trainer: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> TaskConfig:
    """``task``'s defaults with ``model``, ``trainer`` and ``data`` values on top, checked.

    Raises:
        ValueError: naming an unknown task or key, a model key the recipe sets from the data,
            an inconsistent trainer setting (``TrainerConfig.check``), or (summarize) a model key
            of the other model type or ``model.type=auto`` monitoring the loss.

    Example:
        >>> cfg = resolve("classify", model={"hidden_size": 256}, data={"data": "train.tsv"})
        >>> cfg.model, cfg.trainer.early_stopping
        ({'hidden_size': 256}, 3)
    """
    sections = defaults(task)
    for name, values in (("model", model), ("trainer", trainer), ("data", data)):
        sections[name].update(copy.deepcopy(values or {}))
    computed = [k for k in COMPUTED[task] if k in sections["model"]]
    if computed:
        raise ValueError(f"model.{computed[0]} is set from the data; remove it")
    classes = schema(task)
    data_config = classes["data"].from_dict(sections["data"])
    trainer_config = TrainerConfig.from_dict(sections["trainer"])
    trainer_config.check()
    classes["model"].from_dict(copy.deepcopy(sections["model"]))  # rejects unknown keys
    if task == "summarize":  # before any file is touched: a key of the other model type
        _check_summarizer(sections["model"], trainer_config)
    return TaskConfig(task, data_config, sections["model"], trainer_config)


def _check_summarizer(model: dict[str, Any], trainer: TrainerConfig) -> None:
    """Refuse a key of the other model type, and ``auto`` with a monitor that cannot compare
    the two candidates (``rnnkit.tasks.summarize_auto.check_monitor``)."""
    kind, _ = split_model_options(model)
    if kind == "auto":
        check_monitor(trainer)
