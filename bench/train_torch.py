# The training benchmark's peer: PyTorch (CPU) training the mini, paper or bvlc preset, the same
# layers as src/models/alexnet.ts, on random batches; prints images/s as JSON.
#   usage: train_torch.py THREADS BATCH STEPS [mini|paper|bvlc]
# LRN in the paper's form is per tower: PyTorch's LocalResponseNorm divides alpha by n, so it gets
# alpha * n, once per half.
import json, sys, time
import torch
from torch import nn

class TowerLRN(nn.Module):
    def __init__(self):
        super().__init__()
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=2.0)
    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return torch.cat([self.lrn(a), self.lrn(b)], dim=1)

def mini(widths=(24, 48, 64, 64, 48, 512)):
    c1, c2, c3, c4, c5, h = widths
    return nn.Sequential(
        nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), TowerLRN(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c1, c2, 5, padding=2, groups=2), nn.ReLU(), TowerLRN(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(c5 * 9, h), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(h, h), nn.ReLU(), nn.Dropout(0.5), nn.Linear(h, 10))

def alexnet(preset):
    # paper: LRN per tower, k = 2; bvlc (Caffe): LRN across all maps, k = 1, alpha / n as PyTorch's
    lrn = TowerLRN if preset == 'paper' else lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 1000))

def main():
    threads, batch, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    preset = sys.argv[4] if len(sys.argv) > 4 else 'mini'
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = mini() if preset == 'mini' else alexnet(preset)
    shape, classes = ((1, 32, 32), 10) if preset == 'mini' else ((3, 227, 227), 1000)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    loss_fn = nn.CrossEntropyLoss()
    times = []
    warmup = 3 if preset == 'mini' else 1
    for i in range(steps + warmup):
        t = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"peer": f"PyTorch {torch.__version__} CPU", "preset": preset, "threads": threads, "batch": batch, "images_per_s": batch / times[len(times) // 2]}))

if __name__ == '__main__':
    main()
