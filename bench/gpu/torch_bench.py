# The PyTorch half of bench/gpu/run.sh: AlexNet bvlc (groups 2 on conv2/4/5, LRN across maps, as the
# project's preset) in float32 on the GPU, TF32 off so that it computes what the WebGPU run does,
# cuDNN autotuned; batch 1, 16 and 128, timed with CUDA events after warm-ups. Writes JSON.
import json
import os
import sys

import torch
import torch.nn as nn

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
device = 'cuda' if torch.cuda.is_available() else 'cpu'


def alexnet_bvlc():
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(9216, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000), nn.Softmax(dim=1),
    )


model = alexnet_bvlc().to(device).eval()
rows = []
with torch.no_grad():
    for batch in (int(b) for b in os.environ.get('GPU_BENCH_BATCHES', '1,16,128').split(',')):
        x = torch.randn(batch, 3, 227, 227, device=device) * 64
        for _ in range(5):
            model(x)
        times = []
        for _ in range(20 if batch < 128 else 10):
            if device == 'cuda':
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / batch)
            else:
                import time
                t = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t) * 1000 / batch)
        times.sort()
        row = {'system': f'pytorch fp32 ({device})', 'preset': 'bvlc', 'batch': batch, 'msPerImage': times[len(times) // 2], 'min': times[0], 'max': times[-1]}
        print(json.dumps(row), flush=True)
        rows.append(row)
name = torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU'
json.dump({'device': name, 'torch': torch.__version__, 'rows': rows}, open(sys.argv[1], 'w'), indent=2)
