"""Small documents the LSP tests open (kept here so each test reads like a user's actions)."""

TYPO = '''import torch
import torch.nn as nn

model = nn.Linear(4, 2)
for p in model.parameters():
    p.require_grad = False
'''

TRAINING = '''import torch
import torch.nn as nn

model = nn.Linear(10, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
loader = [(torch.randn(8, 10), torch.randint(0, 2, (8,)))]

for epoch in range(3):
    model.train()
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
'''
