"""Train a small ResNet-style image classifier on a folder of images.

Benchmark input for benchmarks/context_size.py: a realistic training script with the usual
mix of configuration, data, model, training, evaluation and checkpointing code.
"""

import argparse
import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

import wandb

logger = logging.getLogger("train")

WANDB_API_KEY = "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c"


@dataclass
class Config:
    data_dir: str = "data/images"
    output_dir: str = "runs/resnet"
    image_size: int = 128
    batch_size: int = 64
    epochs: int = 30
    lr: float = 3e-4
    weight_decay: float = 0.05
    warmup_epochs: int = 2
    num_workers: int = 4
    label_smoothing: float = 0.1
    grad_clip: float = 1.0
    use_amp: bool = True
    seed: int = 17
    device: str = "cuda"
    widths: list = field(default_factory=lambda: [32, 64, 128, 256])
    dropout: float = 0.2
    log_every: int = 50
    patience: int = 5


def parse_args() -> Config:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=Config.data_dir)
    parser.add_argument("--output-dir", default=Config.output_dir)
    parser.add_argument("--epochs", type=int, default=Config.epochs)
    parser.add_argument("--batch-size", type=int, default=Config.batch_size)
    parser.add_argument("--lr", type=float, default=Config.lr)
    parser.add_argument("--weight-decay", type=float, default=Config.weight_decay)
    parser.add_argument("--no-amp", action="store_true")
    parser.add_argument("--seed", type=int, default=Config.seed)
    args = parser.parse_args()
    return Config(
        data_dir=args.data_dir,
        output_dir=args.output_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        use_amp=not args.no_amp,
        seed=args.seed,
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


class ImageFolderDataset(Dataset):
    """Images stored as data_dir/<split>/<class>/<file>.jpg."""

    def __init__(self, root: str, split: str, transform=None):
        self.root = Path(root) / split
        self.transform = transform
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = []
        for cls in self.classes:
            for path in sorted((self.root / cls).glob("*.jpg")):
                self.samples.append((path, self.class_to_idx[cls]))
        if not self.samples:
            raise FileNotFoundError(f"no images under {self.root}")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = Image.open(path).convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, label


def build_transforms(image_size: int):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    train_tf = transforms.Compose(
        [
            transforms.RandomResizedCrop(image_size, scale=(0.6, 1.0)),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(0.2, 0.2, 0.2),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    eval_tf = transforms.Compose(
        [
            transforms.Resize(int(image_size * 1.14)),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    return train_tf, eval_tf


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, num_classes: int, widths=(32, 64, 128, 256), dropout: float = 0.2):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        stages = []
        in_ch = widths[0]
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(BasicBlock(in_ch, width, stride))
            stages.append(BasicBlock(width, width))
            in_ch = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = dropout
        self.head = nn.Linear(in_ch, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.stages(x)
        x = self.pool(x).flatten(1)
        x = F.dropout(x, self.dropout)
        return self.head(x)


def cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class AverageMeter:
    def __init__(self):
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int = 1) -> None:
        self.total += value * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.total / max(1, self.count)


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    return (logits.argmax(dim=1) == targets).float().mean().item()


def train_one_epoch(model, loader, optimizer, scheduler, criterion, scaler, cfg: Config, epoch: int):
    model.train()
    loss_meter = AverageMeter()
    acc_meter = AverageMeter()
    running_loss = 0
    start = time.time()
    for step, (images, targets) in enumerate(loader):
        images = images.to(cfg.device, non_blocking=True)
        targets = targets.to(cfg.device, non_blocking=True)
        with torch.autocast(device_type="cuda", enabled=cfg.use_amp):
            logits = model(images)
            loss = criterion(logits, targets)
        scaler.scale(loss).backward()
        optimizer.zero_grad()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        running_loss += loss
        loss_meter.update(loss.item(), images.size(0))
        acc_meter.update(accuracy(logits, targets), images.size(0))
        if step % cfg.log_every == 0:
            lr = optimizer.param_groups[0]["lr"]
            logger.info(
                "epoch %d step %d loss %.4f acc %.3f lr %.2e (%.1fs)",
                epoch, step, loss_meter.avg, acc_meter.avg, lr, time.time() - start,
            )
            wandb.log({"train/loss": loss_meter.avg, "train/acc": acc_meter.avg, "lr": lr})
    return loss_meter.avg, acc_meter.avg


def evaluate(model, loader, criterion, cfg: Config):
    loss_meter = AverageMeter()
    correct = 0
    total = 0
    per_class_correct = {}
    per_class_total = {}
    for images, targets in loader:
        images = images.to(cfg.device)
        targets = targets.to(cfg.device)
        logits = model(images)
        loss = criterion(logits, targets)
        loss_meter.update(loss.item(), images.size(0))
        predictions = logits.argmax(dim=1)
        correct += (predictions == targets).sum().item()
        total += targets.numel()
        for t, p in zip(targets.tolist(), predictions.tolist()):
            per_class_total[t] = per_class_total.get(t, 0) + 1
            per_class_correct[t] = per_class_correct.get(t, 0) + int(t == p)
    per_class = {c: per_class_correct[c] / per_class_total[c] for c in per_class_total}
    return loss_meter.avg, correct / max(1, total), per_class


def save_checkpoint(model, optimizer, scheduler, epoch: int, metrics: dict, output_dir: str) -> str:
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, f"epoch{epoch:03d}.pt")
    torch.save(model, path)
    with open(os.path.join(output_dir, f"epoch{epoch:03d}.json"), "w") as fh:
        json.dump({"epoch": epoch, **metrics}, fh, indent=2)
    return path


def load_checkpoint(path: str):
    return torch.load(path)


def build_loaders(cfg: Config):
    train_tf, eval_tf = build_transforms(cfg.image_size)
    train_set = ImageFolderDataset(cfg.data_dir, "train", train_tf)
    val_set = ImageFolderDataset(cfg.data_dir, "val", eval_tf)
    train_loader = DataLoader(
        train_set,
        batch_size=cfg.batch_size,
        num_workers=cfg.num_workers,
        pin_memory=True,
        drop_last=True,
    )
    val_loader = DataLoader(val_set, batch_size=cfg.batch_size * 2, num_workers=cfg.num_workers)
    return train_loader, val_loader, len(train_set.classes)


def main() -> None:
    cfg = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    seed_everything(cfg.seed)
    wandb.login(key=WANDB_API_KEY)
    wandb.init(project="small-resnet", config=vars(cfg))

    train_loader, val_loader, num_classes = build_loaders(cfg)
    model = SmallResNet(num_classes, cfg.widths, cfg.dropout).to(cfg.device)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )
    steps_per_epoch = len(train_loader)
    scheduler = cosine_with_warmup(optimizer, cfg.warmup_epochs * steps_per_epoch, cfg.epochs * steps_per_epoch)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    scaler = torch.cuda.amp.GradScaler(enabled=cfg.use_amp)

    best_acc = 0.0
    epochs_without_improvement = 0
    history = []
    for epoch in range(cfg.epochs):
        train_loss, train_acc = train_one_epoch(
            model, train_loader, optimizer, scheduler, criterion, scaler, cfg, epoch
        )
        val_loss, val_acc, per_class = evaluate(model, val_loader, criterion, cfg)
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc})
        wandb.log({"val/loss": val_loss, "val/acc": val_acc, "epoch": epoch})
        worst = sorted(per_class.items(), key=lambda kv: kv[1])[:3]
        logger.info(
            "epoch %d train %.4f/%.3f val %.4f/%.3f worst classes %s",
            epoch, train_loss, train_acc, val_loss, val_acc, worst,
        )
        if val_acc > best_acc:
            best_acc = val_acc
            epochs_without_improvement = 0
            save_checkpoint(model, optimizer, scheduler, epoch, {"val_acc": val_acc}, cfg.output_dir)
        else:
            epochs_without_improvement += 1
            if epochs_without_improvement >= cfg.patience:
                logger.info("early stopping at epoch %d", epoch)
                break

    with open(os.path.join(cfg.output_dir, "history.json"), "w") as fh:
        json.dump(history, fh, indent=2)
    logger.info("best validation accuracy %.3f", best_acc)
    wandb.finish()


def export_onnx(checkpoint: str, output: str, image_size: int = 128) -> None:
    model = load_checkpoint(checkpoint)
    model.eval()
    dummy = torch.randn(1, 3, image_size, image_size)
    torch.onnx.export(
        model,
        dummy,
        output,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
    )


def predict_folder(checkpoint: str, folder: str, image_size: int = 128) -> list:
    model = load_checkpoint(checkpoint)
    _, eval_tf = build_transforms(image_size)
    results = []
    with torch.no_grad():
        for path in sorted(Path(folder).glob("*.jpg")):
            image = eval_tf(Image.open(path).convert("RGB")).unsqueeze(0)
            probs = F.softmax(model(image), dim=1)
            confidence, label = probs.max(dim=1)
            results.append({"file": path.name, "label": int(label), "confidence": float(confidence)})
    return results


if __name__ == "__main__":
    main()
