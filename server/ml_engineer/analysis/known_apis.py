"""Tables of API facts the semantic model classifies with (data, not logic).

Names are canonical qualified names (see `imports.canonical`): `keras.X` also covers
`tensorflow.keras.X`.
"""

from __future__ import annotations

import re

OPTIMIZER_PREFIXES = (
    "torch.optim.",
    "keras.optimizers.",
    "optax.",
    "bitsandbytes.optim.",
    "apex.optimizers.",
    "timm.optim.",
    "torch_optimizer.",
    "transformers.optimization.",
    "deepspeed.ops.",
)
OPTIMIZER_NAMES = frozenset(
    {
        "transformers.AdamW",
        "transformers.Adafactor",
        "torch.distributed.optim.ZeroRedundancyOptimizer",
        "timm.optim.create_optimizer_v2",
        "timm.create_optimizer_v2",
    }
)
# Inside the optimizer namespaces, these are not optimizers.
NOT_OPTIMIZER_PARTS = ("lr_scheduler", "schedules", "schedule", "swa_utils", "Optimizer.")

SCHEDULER_PREFIXES = (
    "torch.optim.lr_scheduler.",
    "keras.optimizers.schedules.",
    "transformers.get_",
    "transformers.optimization.get_",
    "timm.scheduler.",
)
SCHEDULER_NAMES = frozenset({"optax.warmup_cosine_decay_schedule", "optax.cosine_decay_schedule"})
PLATEAU_SCHEDULERS = frozenset({"torch.optim.lr_scheduler.ReduceLROnPlateau", "keras.callbacks.ReduceLROnPlateau"})

SCALER_NAMES = frozenset(
    {"torch.cuda.amp.GradScaler", "torch.amp.GradScaler", "torch.cpu.amp.GradScaler", "torch.amp.grad_scaler.GradScaler"}
)

LOADER_NAMES = frozenset(
    {
        "torch.utils.data.DataLoader",
        "torch.utils.data.dataloader.DataLoader",
        "torch_geometric.loader.DataLoader",
        "monai.data.DataLoader",
    }
)

MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "lightning.pytorch.LightningModule",
        "lightning.LightningModule",
        "transformers.PreTrainedModel",
        "keras.Model",
        "keras.models.Model",
        "flax.linen.Module",
        "equinox.Module",
    }
)
TORCH_MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "lightning.pytorch.LightningModule",
        "lightning.LightningModule",
        "transformers.PreTrainedModel",
    }
)

MODEL_CONSTRUCTOR_PREFIXES = (
    "torchvision.models.",
    "timm.",
    "keras.applications.",
    "segmentation_models_pytorch.",
)
MODEL_CONSTRUCTOR_NAMES = frozenset(
    {
        "torch.nn.Sequential",
        "torch.nn.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.distributed.fsdp.FullyShardedDataParallel",
        "keras.Sequential",
        "keras.Model",
        "keras.models.Sequential",
        "keras.models.Model",
        "keras.models.load_model",
        "keras.saving.load_model",
        "timm.create_model",
    }
)
# torch.nn layers that are models in their own right when trained directly.
_TORCH_NN_LAYER = re.compile(r"^torch\.nn\.(Linear|Conv[123]d|LSTM|GRU|RNN|Transformer\w*|Embedding|Bilinear|MultiheadAttention)$")

# `from_pretrained` on these namespaces builds a model (tokenizers/processors/configs are not models).
_PRETRAINED_NON_MODEL = re.compile(r"(Tokenizer|Processor|Config|FeatureExtractor|ImageProcessor)\w*$")

LOSS_PREFIXES = ("keras.losses.",)
_TORCH_LOSS = re.compile(r"^torch\.nn\.(\w+Loss)$")

SKLEARN_TRANSFORMER_PREFIXES = (
    "sklearn.preprocessing.",
    "sklearn.decomposition.",
    "sklearn.feature_selection.",
    "sklearn.impute.",
    "sklearn.feature_extraction.",
    "sklearn.random_projection.",
    "sklearn.kernel_approximation.",
    "category_encoders.",
)
SKLEARN_NOT_TRANSFORMERS = frozenset(
    {
        "sklearn.preprocessing.label_binarize",
        "sklearn.preprocessing.scale",
        "sklearn.preprocessing.normalize",
        "sklearn.preprocessing.minmax_scale",
        "sklearn.preprocessing.robust_scale",
        "sklearn.preprocessing.maxabs_scale",
    }
)
SKLEARN_ESTIMATOR_PREFIXES = (
    "sklearn.linear_model.",
    "sklearn.ensemble.",
    "sklearn.tree.",
    "sklearn.svm.",
    "sklearn.neighbors.",
    "sklearn.naive_bayes.",
    "sklearn.cluster.",
    "sklearn.neural_network.",
    "sklearn.discriminant_analysis.",
    "sklearn.gaussian_process.",
    "sklearn.dummy.",
    "xgboost.",
    "lightgbm.",
    "catboost.",
)
PIPELINE_NAMES = frozenset(
    {
        "sklearn.pipeline.Pipeline",
        "sklearn.pipeline.make_pipeline",
        "imblearn.pipeline.Pipeline",
        "imblearn.pipeline.make_pipeline",
        "sklearn.compose.ColumnTransformer",
        "sklearn.compose.make_column_transformer",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.make_union",
        "sklearn.compose.TransformedTargetRegressor",
    }
)
RESAMPLER_PREFIXES = ("imblearn.over_sampling.", "imblearn.under_sampling.", "imblearn.combine.")
SPLIT_FUNCTIONS = frozenset({"sklearn.model_selection.train_test_split", "sklearn.cross_validation.train_test_split"})
CV_FUNCTIONS = frozenset(
    {
        "sklearn.model_selection.cross_val_score",
        "sklearn.model_selection.cross_validate",
        "sklearn.model_selection.cross_val_predict",
        "sklearn.model_selection.GridSearchCV",
        "sklearn.model_selection.RandomizedSearchCV",
        "sklearn.model_selection.HalvingGridSearchCV",
        "sklearn.model_selection.HalvingRandomSearchCV",
        "sklearn.model_selection.learning_curve",
        "sklearn.model_selection.validation_curve",
        "sklearn.feature_selection.RFECV",
    }
)

NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"})
ENABLE_GRAD_CONTEXTS = frozenset({"torch.enable_grad", "torch.autograd.enable_grad"})
SET_GRAD_ENABLED = "torch.set_grad_enabled"


def is_optimizer(qualname: str) -> bool:
    if qualname in OPTIMIZER_NAMES:
        return True
    if not qualname.startswith(OPTIMIZER_PREFIXES):
        return False
    if any(part in qualname for part in NOT_OPTIMIZER_PARTS) or is_scheduler(qualname):
        return False
    last = qualname.rsplit(".", 1)[-1]
    # torch.optim.Optimizer is the base class; keras.optimizers.get/serialize are helpers.
    return last not in ("Optimizer", "get", "serialize", "deserialize") and not last.startswith("_")


def is_scheduler(qualname: str) -> bool:
    if qualname in SCHEDULER_NAMES:
        return True
    if qualname.startswith(SCHEDULER_PREFIXES):
        return qualname.startswith(("torch.", "keras.", "timm.")) or "schedule" in qualname
    return qualname.startswith("optax.") and "schedule" in qualname


def is_loss(qualname: str) -> bool:
    if _TORCH_LOSS.match(qualname):
        return True
    return qualname.startswith(LOSS_PREFIXES) and qualname.rsplit(".", 1)[-1][:1].isupper()


def is_model_constructor(qualname: str) -> bool:
    if qualname in MODEL_CONSTRUCTOR_NAMES or _TORCH_NN_LAYER.match(qualname):
        return True
    if qualname.endswith(".from_pretrained"):
        owner = qualname[: -len(".from_pretrained")]
        return not _PRETRAINED_NON_MODEL.search(owner) and owner.startswith(
            ("transformers.", "peft.", "diffusers.", "sentence_transformers.", "timm.")
        )
    if qualname.startswith(MODEL_CONSTRUCTOR_PREFIXES):
        last = qualname.rsplit(".", 1)[-1]
        return last[:1].islower() or last in ("ResNet", "VisionTransformer") or qualname.startswith("keras.applications.")
    return False


def is_sklearn_transformer(qualname: str) -> bool:
    if qualname in SKLEARN_NOT_TRANSFORMERS:
        return False
    return qualname.startswith(SKLEARN_TRANSFORMER_PREFIXES) and qualname.rsplit(".", 1)[-1][:1].isupper()


def is_sklearn_estimator(qualname: str) -> bool:
    return qualname.startswith(SKLEARN_ESTIMATOR_PREFIXES) and qualname.rsplit(".", 1)[-1][:1].isupper()


def is_resampler(qualname: str) -> bool:
    return qualname.startswith(RESAMPLER_PREFIXES) and qualname.rsplit(".", 1)[-1][:1].isupper()
