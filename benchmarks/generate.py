"""Generates realistic PyTorch / scikit-learn / pandas training files of a given length.

Used by the benchmarks (analysis speed, LSP latency). Blocks are varied and numbered so the
semantic model sees many distinct models, optimizers, loops and helpers, as in a large project.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HEADER = '''"""Generated training module for benchmarks."""
import argparse
import os
import random

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset

'''

BLOCKS = [
    '''
class Net{i}(nn.Module):
    def __init__(self, hidden={h}):
        super().__init__()
        self.fc1 = nn.Linear(32, hidden)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.drop(x)
        return self.fc2(x)


def train_epoch_{i}(model, loader, optimizer, criterion, device):
    model.train()
    total = 0.0
    for step, (x, y) in enumerate(loader):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = criterion(logits, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    return total / max(1, len(loader))
''',
    '''
@torch.no_grad()
def evaluate_{i}(model, loader, device):
    model.eval()
    correct = 0
    seen = 0
    for x, y in loader:
        preds = model(x.to(device)).argmax(dim=-1)
        correct += (preds == y.to(device)).sum().item()
        seen += y.numel()
    return correct / max(1, seen)


def run_{i}(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = Net{i}().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr={lr}, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    train_loader = DataLoader(TensorDataset(torch.randn(256, 32), torch.randint(0, 10, (256,))), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(torch.randn(64, 32), torch.randint(0, 10, (64,))), batch_size=64)
    for epoch in range(args.epochs):
        loss = train_epoch_{i}(model, train_loader, optimizer, criterion, device)
        acc = evaluate_{i}(model, val_loader, device)
        scheduler.step()
        print(f"epoch {{epoch}} loss {{loss:.4f}} acc {{acc:.3f}}")
    torch.save(model.state_dict(), os.path.join(args.out, "model_{i}.pt"))
''',
    '''
def prepare_frame_{i}(path):
    df = pd.read_csv(path)
    df = df.dropna(subset=["target"])
    df["ratio_{i}"] = df["a"] / (df["b"] + 1e-6)
    df.loc[df["ratio_{i}"] > 10, "ratio_{i}"] = 10
    X = df[["a", "b", "ratio_{i}"]].to_numpy()
    y = df["target"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state={seed})
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def amp_step_{i}(model, batch, optimizer, scaler, accum_steps, step):
    with torch.autocast(device_type="cuda", dtype=torch.float16):
        out = model(batch["x"])
        loss = F.cross_entropy(out, batch["y"]) / accum_steps
    scaler.scale(loss).backward()
    if (step + 1) % accum_steps == 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
    return loss.detach()
''',
]

FOOTER = '''

def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default=".")
    set_seed(0)
    run_0(parser.parse_args())
'''


def generate(lines: int) -> str:
    parts = [HEADER]
    count = HEADER.count("\n") + FOOTER.count("\n")
    i = 0
    while count < lines:
        block = BLOCKS[i % len(BLOCKS)].format(i=i // len(BLOCKS), h=64 + i % 7 * 16, lr=f"{1 + i % 9}e-4", seed=i)
        parts.append(block)
        count += block.count("\n")
        i += 1
    parts.append(FOOTER)
    return "".join(parts)


def write_files(folder: Path, sizes: tuple[int, ...] = (1000, 5000, 20000)) -> dict[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for size in sizes:
        path = folder / f"train_{size // 1000}k.py"
        path.write_text(generate(size), encoding="utf-8")
        paths[size] = path
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "generated")
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 5000, 20000])
    args = parser.parse_args()
    for size, path in write_files(args.out, tuple(args.sizes)).items():
        print(f"{size:>6} lines -> {path}")
