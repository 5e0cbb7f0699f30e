# The mini recipe in PyTorch on a GPU, to ask in minutes what `alexnet train --arch mini` would
# take hours to answer on two cores: which choices reach 90 % on Fashion-MNIST in the epochs that
# fit in 15 minutes. It replicates src/: the mini layers (bench/train_torch.py), N(0, 2/fan-in)
# weights with zero biases (or the paper's unit biases), the pipeline of src/data/pipeline.ts
# (bilinear 28 -> 36, PCA brightness noise with the pixel standard deviation, mean image, [0, 1]
# scale, random 32 crop and mirror; centre crop for testing) and the paper's SGD update without
# decay on biases. Prints one JSON line per variant: test error (%) after each epoch.
#   usage: python3 bench/mini_recipe_sweep.py DIR [VARIANT...]   (DIR holds the four IDX .gz files)
import gzip, json, math, os, sys, time
import numpy as np, torch
from torch import nn
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_torch import mini  # the same layers as the benchmark's peer
dev = os.environ.get('DEV', 'cuda' if torch.cuda.is_available() else 'cpu')
NTR = int(os.environ.get('NTR', 60000))
D = sys.argv[1].rstrip('/') + '/'
def idx(name):
    b = gzip.open(D + name).read()
    if 'labels' in name: return np.frombuffer(b, np.uint8, offset=8)
    return np.frombuffer(b, np.uint8, offset=16).reshape(-1, 1, 28, 28)
xtr = torch.tensor(idx('train-images-idx3-ubyte.gz'), dtype=torch.float32, device=dev)
ytr = torch.tensor(idx('train-labels-idx1-ubyte.gz'), dtype=torch.long, device=dev)
xte = torch.tensor(idx('t10k-images-idx3-ubyte.gz'), dtype=torch.float32, device=dev)
yte = torch.tensor(idx('t10k-labels-idx1-ubyte.gz'), dtype=torch.long, device=dev)

def run(name, lr=0.02, batch=64, epochs=4, steps=(3,), decay=0.1, unit_bias=False, pca=0.1, flip=True, crop=True,
        resize=36, size=32, seed=1, c=(24, 48, 64, 64, 48, 512), wd=5e-4, std='fan-in'):
    torch.manual_seed(seed)
    g = torch.Generator(device=dev); g.manual_seed(seed)
    m = mini(c).to(dev)
    convs = [l for l in m if isinstance(l, (nn.Conv2d, nn.Linear))]
    for i, l in enumerate(convs):
        fan = l.weight[0].numel()
        nn.init.normal_(l.weight, 0, math.sqrt(2 / fan) if std == 'fan-in' else std)
        nn.init.constant_(l.bias, 1.0 if unit_bias and i in (1, 3, 4, 5, 6) else 0.0)
    def prep(x):
        return F.interpolate(x, size=(resize, resize), mode='bilinear', align_corners=False) if resize != 28 else x
    Xtr, Xte = prep(xtr), prep(xte)
    mean = Xtr.mean(0, keepdim=True)
    sd = math.sqrt(Xtr.var().item())  # single channel: sqrt of the eigenvalue
    o = (resize - size) // 2
    Xte_n = ((Xte - mean) / 255)[:, :, o:o + size, o:o + size]
    vel = [torch.zeros_like(q) for q in m.parameters()]
    decays = [q.dim() > 1 for q in m.parameters()]
    out = []
    t0 = time.time()
    cur = lr
    for ep in range(epochs):
        if ep in steps: cur *= decay
        m.train()
        perm = torch.randperm(60000, device=dev, generator=g)
        tl, terr, n = 0.0, 0, 0
        for s in range(0, NTR, batch):
            ids = perm[s:s + batch]; B = len(ids)
            x = Xtr[ids]
            if pca: x = x + torch.randn(B, 1, 1, 1, device=dev, generator=g) * pca * sd
            x = (x - mean) / 255
            if crop and resize > size:
                ox = torch.randint(0, resize - size + 1, (B,), device=dev, generator=g)
                oy = torch.randint(0, resize - size + 1, (B,), device=dev, generator=g)
                ar = torch.arange(size, device=dev)
                rows = (oy[:, None] + ar)[:, :, None].expand(B, size, size)
                cols = (ox[:, None] + ar)[:, None, :].expand(B, size, size)
                x = x[torch.arange(B, device=dev)[:, None, None], 0, rows, cols][:, None]
            elif resize > size:
                x = x[:, :, o:o + size, o:o + size]
            if flip:
                f = torch.rand(B, device=dev, generator=g) < 0.5
                x = torch.where(f[:, None, None, None], x.flip(3), x)
            y = ytr[ids]
            logits = m(x)
            loss = F.cross_entropy(logits, y)
            m.zero_grad(); loss.backward()
            with torch.no_grad():
                for q, v, d in zip(m.parameters(), vel, decays):
                    v.mul_(0.9)
                    if d: v.add_(q, alpha=-wd * cur)
                    v.add_(q.grad, alpha=-cur)
                    q.add_(v)
            tl += loss.item() * B; terr += (logits.argmax(1) != y).sum().item(); n += B
        m.eval()
        with torch.no_grad():
            err = sum((m(Xte_n[i:i + 1000]).argmax(1) != yte[i:i + 1000]).sum().item() for i in range(0, 10000, 1000)) / 10000
        out.append(round(err * 100, 2))
        if math.isnan(tl): break
    print(json.dumps({'name': name, 'test_err': out, 'train_loss_last': round(tl / n, 3), 'train_err_last': round(terr / n * 100, 2), 's': round(time.time() - t0, 1)}), flush=True)

# defaults: zero biases, lr 0.02, batch 64, 4 epochs, ÷10 after epoch 3, crops + mirrors + PCA noise
V = dict(
  base={}, seed2=dict(seed=2), epochs6=dict(epochs=6, steps=(4,)),
  unit_biases=dict(unit_bias=True), unit_biases_seed2=dict(unit_bias=True, seed=2),
  unit_biases_lr01=dict(unit_bias=True, lr=0.01), unit_biases_no_mirror=dict(unit_bias=True, flip=False),
  lr01=dict(lr=0.01), lr03=dict(lr=0.03), lr05=dict(lr=0.05), batch32=dict(batch=32, lr=0.01),
  step2=dict(steps=(2,)), no_pca=dict(pca=0), no_mirror=dict(flip=False), no_crop=dict(crop=False),
  crop34=dict(resize=34), no_augmentation=dict(crop=False, flip=False, pca=0),
  fc1024=dict(c=(24, 48, 64, 64, 48, 1024)), wider=dict(c=(32, 64, 96, 96, 64, 512)),
)
only = sys.argv[2:] or list(V)
for k in only:
    run(k, **V[k])
