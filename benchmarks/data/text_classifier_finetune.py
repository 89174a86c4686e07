"""Fine-tune a transformer encoder for sentence classification with a hand-written loop.

Benchmark input for benchmarks/context_size.py.
"""

import argparse
import csv
import json
import logging
import math
import os
import random
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

log = logging.getLogger("finetune")

HF_TOKEN = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"


@dataclass
class TrainConfig:
    model_name: str = "distilroberta-base"
    train_file: str = "data/train.csv"
    valid_file: str = "data/valid.csv"
    test_file: str = "data/test.csv"
    output_dir: str = "out/classifier"
    max_length: int = 256
    batch_size: int = 32
    grad_accum_steps: int = 4
    epochs: int = 4
    lr: float = 2e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    dropout: float = 0.1
    seed: int = 13
    fp16: bool = True
    eval_every: int = 500


def get_args() -> TrainConfig:
    parser = argparse.ArgumentParser()
    for name, value in asdict(TrainConfig()).items():
        kind = type(value)
        if kind is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", default=value)
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    return TrainConfig(**vars(parser.parse_args()))


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def read_csv(path: str) -> list:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["text"].strip()
            if text:
                rows.append((text, row["label"]))
    return rows


class LabelVocab:
    def __init__(self, labels):
        counts = Counter(labels)
        self.itos = sorted(counts)
        self.stoi = {label: i for i, label in enumerate(self.itos)}
        self.counts = [counts[label] for label in self.itos]

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, label: str) -> int:
        return self.stoi[label]

    def class_weights(self) -> torch.Tensor:
        total = sum(self.counts)
        weights = [total / (len(self.counts) * c) for c in self.counts]
        return torch.tensor(weights, dtype=torch.float)


class TextDataset(Dataset):
    def __init__(self, rows, tokenizer, vocab: LabelVocab, max_length: int):
        self.rows = rows
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.max_length = max_length

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int):
        text, label = self.rows[index]
        encoded = self.tokenizer(text, truncation=True, max_length=self.max_length)
        return {
            "input_ids": encoded["input_ids"],
            "attention_mask": encoded["attention_mask"],
            "label": self.vocab.encode(label),
        }


def make_collate(pad_id: int):
    def collate(batch):
        width = max(len(item["input_ids"]) for item in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for i, item in enumerate(batch):
            n = len(item["input_ids"])
            input_ids[i, :n] = torch.tensor(item["input_ids"])
            attention[i, :n] = torch.tensor(item["attention_mask"])
        labels = torch.tensor([item["label"] for item in batch])
        return input_ids, attention, labels

    return collate


class MeanPooler(nn.Module):
    def forward(self, hidden, mask):
        mask = mask.unsqueeze(-1).float()
        summed = (hidden * mask).sum(dim=1)
        return summed / mask.sum(dim=1).clamp(min=1e-6)


class SentenceClassifier(nn.Module):
    def __init__(self, model_name: str, num_labels: int, dropout: float):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(model_name, token=HF_TOKEN)
        hidden = self.encoder.config.hidden_size
        self.pooler = MeanPooler()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, num_labels))

    def forward(self, input_ids, attention_mask):
        outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        pooled = self.pooler(outputs.last_hidden_state, attention_mask)
        logits = self.head(self.dropout(pooled))
        return torch.softmax(logits, dim=-1)


def parameter_groups(model: SentenceClassifier, cfg: TrainConfig):
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    encoder_decay, encoder_no_decay = [], []
    for name, param in model.encoder.named_parameters():
        (encoder_no_decay if any(k in name for k in no_decay) else encoder_decay).append(param)
    return [
        {"params": encoder_decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"params": encoder_no_decay, "lr": cfg.lr, "weight_decay": 0.0},
        {"params": model.head.parameters(), "lr": cfg.head_lr, "weight_decay": cfg.weight_decay},
    ]


@torch.no_grad()
def evaluate(model, loader, device) -> dict:
    model.eval()
    total_loss = 0.0
    predictions, targets = [], []
    loss_fn = nn.CrossEntropyLoss()
    for input_ids, attention, labels in loader:
        input_ids, attention, labels = input_ids.to(device), attention.to(device), labels.to(device)
        logits = model(input_ids, attention)
        total_loss += loss_fn(logits, labels).item() * labels.size(0)
        predictions.extend(logits.argmax(dim=-1).tolist())
        targets.extend(labels.tolist())
    n = max(1, len(targets))
    accuracy = sum(int(p == t) for p, t in zip(predictions, targets)) / n
    return {"loss": total_loss / n, "accuracy": accuracy, "macro_f1": macro_f1(predictions, targets)}


def macro_f1(predictions, targets) -> float:
    labels = set(targets) | set(predictions)
    scores = []
    for label in labels:
        tp = sum(1 for p, t in zip(predictions, targets) if p == label and t == label)
        fp = sum(1 for p, t in zip(predictions, targets) if p == label and t != label)
        fn = sum(1 for p, t in zip(predictions, targets) if p != label and t == label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / max(1, len(scores))


def train(cfg: TrainConfig) -> dict:
    set_seed(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(cfg.model_name, token=HF_TOKEN)
    train_rows, valid_rows, test_rows = read_csv(cfg.train_file), read_csv(cfg.valid_file), read_csv(cfg.test_file)
    vocab = LabelVocab([label for _, label in train_rows])
    collate = make_collate(tokenizer.pad_token_id)
    train_loader = DataLoader(
        TextDataset(train_rows, tokenizer, vocab, cfg.max_length),
        batch_size=cfg.batch_size,
        shuffle=True,
        collate_fn=collate,
        num_workers=2,
    )
    valid_loader = DataLoader(TextDataset(valid_rows, tokenizer, vocab, cfg.max_length), batch_size=64, collate_fn=collate)
    test_loader = DataLoader(TextDataset(test_rows, tokenizer, vocab, cfg.max_length), batch_size=64, collate_fn=collate)

    model = SentenceClassifier(cfg.model_name, len(vocab), cfg.dropout).to(device)
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg))
    updates_per_epoch = math.ceil(len(train_loader) / cfg.grad_accum_steps)
    total_updates = updates_per_epoch * cfg.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_updates), total_updates)
    criterion = nn.CrossEntropyLoss(weight=vocab.class_weights().to(device))
    scaler = torch.cuda.amp.GradScaler(enabled=cfg.fp16)

    best = {"macro_f1": -1.0}
    global_step = 0
    for epoch in range(cfg.epochs):
        model.train()
        for step, (input_ids, attention, labels) in enumerate(train_loader):
            input_ids, attention, labels = input_ids.to(device), attention.to(device), labels.to(device)
            with torch.autocast(device_type=device.type, enabled=cfg.fp16):
                logits = model(input_ids, attention)
                loss = criterion(logits, labels) / cfg.grad_accum_steps
            scaler.scale(loss).backward()
            if (step + 1) % cfg.grad_accum_steps == 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                scheduler.step()
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                global_step += 1
                if global_step % cfg.eval_every == 0:
                    metrics = evaluate(model, test_loader, device)
                    log.info("step %d test %s", global_step, metrics)
                    if metrics["macro_f1"] > best["macro_f1"]:
                        best = {**metrics, "step": global_step}
                        save_model(model, tokenizer, vocab, cfg.output_dir)
        metrics = evaluate(model, valid_loader, device)
        log.info("epoch %d valid %s", epoch, metrics)
    final = evaluate(model, test_loader, device)
    log.info("final test %s", final)
    return {"best": best, "final_test": final}


def save_model(model, tokenizer, vocab: LabelVocab, output_dir: str) -> None:
    os.makedirs(output_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(output_dir, "model.pt"))
    tokenizer.save_pretrained(output_dir)
    with open(os.path.join(output_dir, "labels.json"), "w") as fh:
        json.dump(vocab.itos, fh)


def load_model(output_dir: str, cfg: TrainConfig) -> SentenceClassifier:
    with open(os.path.join(output_dir, "labels.json")) as fh:
        labels = json.load(fh)
    model = SentenceClassifier(cfg.model_name, len(labels), cfg.dropout)
    state = torch.load(os.path.join(output_dir, "model.pt"))
    model.load_state_dict(state)
    return model


def predict(texts, output_dir: str, cfg: TrainConfig) -> list:
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    model = load_model(output_dir, cfg)
    with open(os.path.join(output_dir, "labels.json")) as fh:
        labels = json.load(fh)
    encoded = tokenizer(texts, truncation=True, max_length=cfg.max_length, padding=True, return_tensors="pt")
    with torch.no_grad():
        probs = model(encoded["input_ids"], encoded["attention_mask"])
    return [labels[i] for i in probs.argmax(dim=-1).tolist()]


def error_report(model, loader, vocab: LabelVocab, device, limit: int = 20) -> list:
    model.eval()
    mistakes = []
    with torch.no_grad():
        for input_ids, attention, labels in loader:
            logits = model(input_ids.to(device), attention.to(device))
            predicted = logits.argmax(dim=-1).cpu()
            for i in range(labels.size(0)):
                if predicted[i] != labels[i]:
                    mistakes.append(
                        {
                            "expected": vocab.itos[int(labels[i])],
                            "predicted": vocab.itos[int(predicted[i])],
                            "confidence": float(logits[i].max()),
                        }
                    )
                if len(mistakes) >= limit:
                    return mistakes
    return mistakes


def summarize_dataset(rows, name: str) -> None:
    counts = Counter(label for _, label in rows)
    lengths = [len(text.split()) for text, _ in rows]
    log.info(
        "%s: %d rows, %d labels, words/text median %d p95 %d, label counts %s",
        name,
        len(rows),
        len(counts),
        int(np.median(lengths)),
        int(np.percentile(lengths, 95)),
        dict(counts.most_common(5)),
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    cfg = get_args()
    for path in (cfg.train_file, cfg.valid_file, cfg.test_file):
        summarize_dataset(read_csv(path), os.path.basename(path))
    results = train(cfg)
    with open(os.path.join(cfg.output_dir, "results.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
