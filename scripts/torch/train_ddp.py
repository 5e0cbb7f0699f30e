#!/usr/bin/env python3
"""The paper's training recipe in PyTorch, for runs past one machine (ImageNet scale), with torchrun:

    npx alexnet info --arch paper --json > graph.json
    npx alexnet init --arch paper --out init.safetensors
    npx alexnet stats imagenet/train --out stats.safetensors
    torchrun --nproc-per-node 8 [--nnodes N --rdzv-endpoint HOST:PORT] scripts/torch/train_ddp.py \\
        --graph graph.json --init init.safetensors --stats stats.safetensors \\
        --train imagenet/train --val imagenet/val --out run

The network is built from our graph (`alexnet info --json`: every layer's op and attributes, the
same names), and starts from our `init` weights, so both sides train the same model from the same
point. Weights are written as safetensors with our names (run/epoch-N.safetensors, then
run/weights.safetensors), which `alexnet classify --weights` and every loader read.

The recipe, as src/train: SGD with momentum 0.9 and the paper's update (v <- 0.9 v - wd lr w - lr g;
w <- w + v; weight decay 5e-4 on weights only), cross-entropy averaged over the batch (over the
whole global batch: DistributedDataParallel averages the ranks' gradients), dropout 0.5 where the
graph has it, the learning rate divided by 10 when the validation error stops improving (plateau,
patience 1) or every --lr-step epochs. The pipeline, as src/data/pipeline.ts: shorter side to the
statistics' size (256 for paper), centre square, PCA colour noise (std 0.1, from our stats), the mean image subtracted, a random
crop of the graph's input size with a random mirror; validation on the centre crop.

`--check-step BATCH.safetensors` runs one step (no dropout) on the batch it holds (`x`, `labels`)
and writes the updated weights to --out: test/torch-recipe.test.ts compares it with ours.
"""
import argparse
import json
import os
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


# --- safetensors, as src/io/safetensors.ts writes them (F32 only) ---

def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop('__metadata__', {})
    tensors = OrderedDict()
    for name, info in header.items():
        if info['dtype'] != 'F32':
            raise SystemExit(f'{path}: tensor {name} is {info["dtype"]}; our files hold F32 only')
        begin, end = info['data_offsets']
        tensors[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype='<f4').reshape(info['shape']).copy())
    return tensors, meta


def write_safetensors(path, tensors, meta):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().cpu().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header['__metadata__'] = {k: str(v) for k, v in meta.items()}
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    tmp = f'{path}.partial'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
    os.replace(tmp, path)  # never a half-written weights file


# --- the network, from our graph ---

def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


def pads(v):
    """Our padding, [top, left, bottom, right] or one number, as F.pad's (left, right, top, bottom)."""
    t, l, b, r = (v, v, v, v) if isinstance(v, (int, float)) else (v[0], v[1], v[2], v[3]) if len(v) == 4 else (v[0], v[1], v[0], v[1])
    return (l, r, t, b)


class Conv(nn.Module):
    def __init__(self, cin, a):
        super().__init__()
        self.pad = pads(a.get('pad', 0))
        self.conv = nn.Conv2d(cin, a['out'], pair(a['kernel']), pair(a['stride']), groups=a['groups'])

    def forward(self, x):
        return self.conv(F.pad(x, self.pad) if any(self.pad) else x)


class LRN(nn.Module):
    """Ours: x / (k + alpha' sum of x^2 over `size` maps)^beta within each of `groups` towers, where
    alpha' is alpha / size when alphaOverSize, else alpha. PyTorch's divides alpha by size always."""

    def __init__(self, a):
        super().__init__()
        alpha = a['alpha'] if a['alphaOverSize'] else a['alpha'] * a['size']
        self.groups = a['groups']
        self.lrn = nn.LocalResponseNorm(a['size'], alpha=alpha, beta=a['beta'], k=a['k'])

    def forward(self, x):
        return torch.cat([self.lrn(part) for part in x.chunk(self.groups, dim=1)], dim=1) if self.groups > 1 else self.lrn(x)


class Pool(nn.Module):
    def __init__(self, a, kind):
        super().__init__()
        self.pad = pads(a.get('pad', 0))
        k, s = pair(a['kernel']), pair(a['stride'])
        self.pool = nn.MaxPool2d(k, s, ceil_mode=bool(a.get('ceil'))) if kind == 'maxpool2d' else nn.AvgPool2d(k, s, ceil_mode=bool(a.get('ceil')), count_include_pad=bool(a.get('countIncludePad')))
        self.fill = float('-inf') if kind == 'maxpool2d' else 0.0

    def forward(self, x):
        return self.pool(F.pad(x, self.pad, value=self.fill) if any(self.pad) else x)


class Net(nn.Module):
    """Our graph's chain of layers under our node names; the logits (softmax is in the loss)."""

    def __init__(self, graph):
        super().__init__()
        layers = OrderedDict()
        shape = graph['layers'][0]['shape']
        for layer in graph['layers'][1:]:
            op, a = layer['op'], layer['attributes']
            if op == 'conv2d':
                layers[layer['name']] = Conv(shape[0], a)
            elif op == 'linear':
                layers[layer['name']] = nn.Linear(int(np.prod(shape)), a['out'])
            elif op == 'relu':
                layers[layer['name']] = nn.ReLU()
            elif op == 'lrn':
                layers[layer['name']] = LRN(a)
            elif op in ('maxpool2d', 'avgpool2d'):
                layers[layer['name']] = Pool(a, op)
            elif op == 'adaptiveavgpool2d':
                layers[layer['name']] = nn.AdaptiveAvgPool2d(tuple(layer['shape'][1:]))
            elif op == 'dropout':
                layers[layer['name']] = nn.Dropout(a['p'])
            elif op == 'flatten':
                layers[layer['name']] = nn.Flatten()
            elif op != 'softmax':
                raise SystemExit(f'layer {layer["name"]}: op {op} has no PyTorch mapping here')
            shape = layer['shape']
        self.layers = nn.Sequential(layers)

    def forward(self, x):
        return self.layers(x)


def our_names(model):
    """state_dict keys as our weights files name them: conv1.weight, ... (Conv's inner conv folded)."""
    return OrderedDict((k.removeprefix('layers.').replace('.conv.', '.'), v) for k, v in model.state_dict().items())


def load_ours(model, tensors):
    ours = {k: v for k, v in tensors.items() if not k.startswith('stats.')}
    names = {k.removeprefix('layers.').replace('.conv.', '.'): k for k in model.state_dict()}
    if set(names) != set(ours):
        raise SystemExit(f'the init weights do not fit the graph: missing {sorted(set(names) - set(ours))}, extra {sorted(set(ours) - set(names))}')
    state = OrderedDict()
    for ours_name, torch_name in names.items():
        want = model.state_dict()[torch_name].shape
        if tuple(ours[ours_name].shape) != tuple(want):
            raise SystemExit(f'{ours_name} is {list(ours[ours_name].shape)} in the init weights, {list(want)} in the graph')
        state[torch_name] = ours[ours_name]
    model.load_state_dict(state)


# --- the paper's update ---

class PaperSGD:
    def __init__(self, named, momentum=0.9, weight_decay=5e-4):
        self.params = [(n, p, torch.zeros_like(p)) for n, p in named]
        self.momentum, self.weight_decay = momentum, weight_decay

    @torch.no_grad()
    def step(self, lr):
        for name, w, v in self.params:
            decay = self.weight_decay if name.endswith('weight') else 0.0
            v.mul_(self.momentum).add_(w, alpha=-decay * lr).add_(w.grad, alpha=-lr)
            w.add_(v)


# --- the pipeline ---

class Images(torch.utils.data.Dataset):
    """A folder of class folders (ImageNet's layout), through our pipeline."""

    def __init__(self, root, stats, crop, train, pca_std=0.1):
        from PIL import Image  # Debian's python3-pil
        self.Image = Image
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.items = [(os.path.join(root, c, f), i) for i, c in enumerate(self.classes) for f in sorted(os.listdir(os.path.join(root, c)))]
        self.mean = stats['mean_image'].numpy()
        self.eigval, self.eigvec = stats['pca_eigenvalues'].numpy(), stats['pca_eigenvectors'].numpy()
        # the size the statistics were taken at (`alexnet stats` uses the preset's: 256 for paper)
        self.crop, self.train, self.resize, self.pca_std = crop, train, self.mean.shape[1], pca_std
        self.channels = self.mean.shape[0]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        img = self.Image.open(path).convert('L' if self.channels == 1 else 'RGB')
        w, h = img.size
        s = self.resize / min(w, h)
        img = img.resize((max(self.resize, round(w * s)), max(self.resize, round(h * s))), self.Image.BOX if s < 1 else self.Image.BILINEAR)
        w, h = img.size
        left, top = (w - self.resize) // 2, (h - self.resize) // 2
        x = np.asarray(img.crop((left, top, left + self.resize, top + self.resize)), dtype=np.float32).reshape(self.resize, self.resize, -1).transpose(2, 0, 1)
        if self.train and self.pca_std > 0:
            # as src/data/augment.ts: sum over i of a_i sqrt(lambda_i) times eigenvector i (the rows of our [c, c] tensor)
            a = np.random.normal(0, self.pca_std, self.channels) * np.sqrt(np.maximum(self.eigval, 0))
            x = x + (a @ self.eigvec).reshape(-1, 1, 1).astype(np.float32)
        x = x - self.mean
        if self.train:
            top, left = np.random.randint(0, self.resize - self.crop + 1, 2)
            x = x[:, top:top + self.crop, left:left + self.crop]
            if np.random.rand() < 0.5:
                x = x[:, :, ::-1]
        else:
            o = (self.resize - self.crop) // 2
            x = x[:, o:o + self.crop, o:o + self.crop]
        return torch.from_numpy(np.ascontiguousarray(x)), label


def check_step(args, model, graph):
    """One step, no dropout, on the batch in args.check_step: the updated weights to args.out."""
    batch, _ = read_safetensors(args.check_step)
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32
    model.to(dtype)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    sgd = PaperSGD(model.named_parameters())
    loss = F.cross_entropy(model(batch['x'].to(dtype)), batch['labels'].long())
    loss.backward()
    sgd.step(args.lr)
    write_safetensors(args.out, our_names(model), {'preset': graph['arch'], 'loss': f'{loss.item():.17g}'})  # loss: for the test


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--graph', required=True, help='the network: `alexnet info --arch PRESET --json` output')
    p.add_argument('--init', required=True, help='the starting weights: `alexnet init` output')
    p.add_argument('--stats', help='the training set statistics: `alexnet stats` output')
    p.add_argument('--train', help='folder of class folders')
    p.add_argument('--val', help='folder of class folders, the same classes')
    p.add_argument('--out', required=True, help='run folder (or, with --check-step, the weights file)')
    p.add_argument('--epochs', type=int, default=90)
    p.add_argument('--batch', type=int, default=128, help='the global batch, split over the ranks')
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--lr-step', type=int, default=0, help='divide the learning rate by 10 every N epochs (default: on a plateau of the validation error)')
    p.add_argument('--workers', type=int, default=4, help='data loader processes per rank')
    p.add_argument('--dtype', choices=['float32', 'float64'], default='float32')
    p.add_argument('--check-step', help='a safetensors file with x and labels: one step, then exit')
    args = p.parse_args()

    with open(args.graph) as f:
        graph = json.load(f)
    if graph.get('devices', 1) != 1:
        raise SystemExit('--graph: give the unpartitioned graph (alexnet info without --devices); DDP splits the batch instead')
    model = Net(graph)
    init, init_meta = read_safetensors(args.init)
    load_ours(model, init)
    if args.check_step:
        return check_step(args, model, graph)
    if not (args.train and args.val and args.stats):
        raise SystemExit('training needs --train, --val and --stats')

    distributed = 'WORLD_SIZE' in os.environ
    if distributed:
        dist.init_process_group('nccl' if torch.cuda.is_available() else 'gloo')
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    torch.manual_seed(1 + rank)
    np.random.seed(1 + rank)
    model.to(device)
    net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == 'cuda' else None) if distributed else model
    sgd = PaperSGD(model.named_parameters())

    stats, _ = read_safetensors(args.stats)
    crop = graph['input'][1]
    train = Images(args.train, stats, crop, True)
    val = Images(args.val, stats, crop, False)
    if args.batch % world:
        raise SystemExit(f'--batch {args.batch} does not split over {world} ranks')
    sampler = torch.utils.data.distributed.DistributedSampler(train, seed=1) if distributed else None
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch // world, sampler=sampler, shuffle=sampler is None, num_workers=args.workers, drop_last=True, pin_memory=device.type == 'cuda')
    val_loader = torch.utils.data.DataLoader(val, batch_size=args.batch // world, sampler=torch.utils.data.distributed.DistributedSampler(val, shuffle=False) if distributed else None, num_workers=args.workers)
    os.makedirs(args.out, exist_ok=True)
    lr, best, stale = args.lr, float('inf'), 0
    # as `alexnet train` writes them: the model options from init, the class names, and the
    # statistics embedded (stats.*), so that classify and eval need no other flag
    meta = {**{k: v for k, v in init_meta.items() if k not in ('init', 'seed')}, 'labels': json.dumps(train.classes), 'recipe': 'scripts/torch/train_ddp.py'}
    embedded = OrderedDict((f'stats.{k}', v) for k, v in stats.items())
    for epoch in range(args.epochs):
        if sampler:
            sampler.set_epoch(epoch)
        net.train()
        total, seen = 0.0, 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(net(x), y)
            model.zero_grad(set_to_none=False)
            loss.backward()
            sgd.step(lr)
            total, seen = total + loss.item() * len(y), seen + len(y)
        net.eval()
        wrong = torch.zeros(2, device=device)
        with torch.no_grad():
            for x, y in val_loader:
                x, y = x.to(device), y.to(device)
                wrong += torch.tensor([(net(x).argmax(1) != y).sum().item(), len(y)], device=device, dtype=torch.float32)
        if distributed:
            dist.all_reduce(wrong)
        error = (wrong[0] / wrong[1]).item()
        if rank == 0:
            print(json.dumps({'epoch': epoch + 1, 'loss': total / max(seen, 1), 'valTop1': error, 'lr': lr}), flush=True)
            with open(os.path.join(args.out, 'metrics.jsonl'), 'a') as f:
                f.write(json.dumps({'epoch': epoch + 1, 'trainLoss': total / max(seen, 1), 'valTop1': error, 'lr': lr}) + '\n')
            write_safetensors(os.path.join(args.out, f'epoch-{epoch + 1}.safetensors'), {**our_names(model), **embedded}, {**meta, 'epoch': epoch + 1})
        if args.lr_step:
            lr = lr / 10 if (epoch + 1) % args.lr_step == 0 else lr
        elif error < best - 1e-3:
            best, stale = error, 0
        else:
            lr, stale = lr / 10, 0
    if rank == 0:
        write_safetensors(os.path.join(args.out, 'weights.safetensors'), {**our_names(model), **embedded}, meta)
    if distributed:
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
