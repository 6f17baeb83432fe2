import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

import type { WebGpuUnavailableReason } from './errors.js';

/** What {@link diagnoseVulkan} looks at: the environment and the file system (replaceable in tests). */
export interface VulkanProbe {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  exists(path: string): boolean;
  /** The file's bytes, or `undefined` when it cannot be read. */
  readFile(path: string): Buffer | undefined;
}

/** The probe of this process: `process.env`, the real file system. */
export function processVulkanProbe(env: Readonly<Record<string, string | undefined>> = process.env): VulkanProbe {
  return {
    env,
    homeDir: homedir(),
    exists: (path) => existsSync(path),
    readFile: (path) => {
      try {
        return readFileSync(path);
      } catch {
        return undefined;
      }
    },
  };
}

/** The Vulkan loader's file name (Dawn dlopens it by this name). */
export const VULKAN_LOADER = 'libvulkan.so.1';

/** Where the dynamic linker looks after `LD_LIBRARY_PATH` and its cache (Debian/Ubuntu multiarch, then the classic paths). */
const STANDARD_LIBRARY_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
  '/usr/local/lib',
];

/**
 * Where NVIDIA's driver puts its Vulkan ICD manifest: the loader's default folders, and the
 * container-toolkit mount (`/usr/local/nvidia`, where the GPU machines of this project have it).
 */
export const NVIDIA_ICD_CANDIDATES = [
  '/usr/share/vulkan/icd.d/nvidia_icd.json',
  '/etc/vulkan/icd.d/nvidia_icd.json',
  '/usr/local/share/vulkan/icd.d/nvidia_icd.json',
  '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json',
];

/** Files that exist only where an NVIDIA kernel driver is loaded. */
const NVIDIA_DRIVER_MARKERS = ['/proc/driver/nvidia/version', '/dev/nvidiactl'];

/** What was found of a Vulkan installation. */
export interface VulkanDiagnosis {
  /** Where `libvulkan.so.1` is (a folder, or `the linker cache`), or `undefined` when nowhere. */
  readonly loader: string | undefined;
  /** The ICD manifests named by `VK_DRIVER_FILES` (or the older `VK_ICD_FILENAMES`), if set. */
  readonly driverFiles: readonly string[];
  /** Those of {@link VulkanDiagnosis.driverFiles} that do not exist. */
  readonly missingDriverFiles: readonly string[];
  /** Whether an NVIDIA kernel driver is loaded. */
  readonly nvidiaDriver: boolean;
  /** An NVIDIA ICD manifest that exists, if any. */
  readonly nvidiaIcd: string | undefined;
  /** fs2's private software Vulkan (`scripts/setup-vulkan.sh`), when installed: its folder. */
  readonly privateDir: string | undefined;
}

/** The folder `scripts/setup-vulkan.sh` installs into: `FS2_VULKAN_DIR`, else `~/.cache/fs2/vulkan`. */
export function privateVulkanDir(probe: Pick<VulkanProbe, 'env' | 'homeDir'>): string {
  return probe.env['FS2_VULKAN_DIR'] ?? join(probe.homeDir, '.cache', 'fs2', 'vulkan');
}

/**
 * The environment that makes Dawn use fs2's private lavapipe in `dir`: the loader's folder on
 * `LD_LIBRARY_PATH` (read at process start, so for a child process) and the ICD manifest.
 */
export function privateVulkanEnv(dir: string): { LD_LIBRARY_PATH: string; VK_DRIVER_FILES: string } {
  return { LD_LIBRARY_PATH: join(dir, 'root', 'usr', 'lib', 'x86_64-linux-gnu'), VK_DRIVER_FILES: join(dir, 'lvp_icd.json') };
}

/** Looks for the pieces Dawn needs on Linux: the Vulkan loader, a driver manifest, an NVIDIA driver. */
export function diagnoseVulkan(probe: VulkanProbe): VulkanDiagnosis {
  const { env } = probe;
  let loader: string | undefined;
  for (const dir of (env['LD_LIBRARY_PATH'] ?? '').split(delimiter).filter((d) => d !== '')) {
    if (probe.exists(join(dir, VULKAN_LOADER))) {
      loader = dir;
      break;
    }
  }
  if (loader === undefined && probe.readFile('/etc/ld.so.cache')?.includes(VULKAN_LOADER) === true) {
    loader = 'the linker cache';
  }
  if (loader === undefined) {
    loader = STANDARD_LIBRARY_DIRS.find((dir) => probe.exists(join(dir, VULKAN_LOADER)));
  }
  const driverFiles = (env['VK_DRIVER_FILES'] ?? env['VK_ICD_FILENAMES'] ?? '').split(delimiter).filter((f) => f !== '');
  const dir = privateVulkanDir(probe);
  return {
    loader,
    driverFiles,
    missingDriverFiles: driverFiles.filter((f) => !probe.exists(f)),
    nvidiaDriver: NVIDIA_DRIVER_MARKERS.some((f) => probe.exists(f)),
    nvidiaIcd: NVIDIA_ICD_CANDIDATES.find((f) => probe.exists(f)),
    privateDir: probe.exists(join(dir, 'lvp_icd.json')) ? dir : undefined,
  };
}

/**
 * Why no adapter was found, and what to do, from a {@link VulkanDiagnosis}: the reason of the
 * `WebGpuUnavailableError` and its message.
 */
export function explainNoAdapter(d: VulkanDiagnosis): { reason: WebGpuUnavailableReason; message: string } {
  const lead = 'The `webgpu` device found no GPU adapter:';
  const privateHint = (dir: string): string => {
    const env = privateVulkanEnv(dir);
    return `start Node with LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH} VK_DRIVER_FILES=${env.VK_DRIVER_FILES} to use the software driver installed in ${dir}`;
  };
  const nvidiaHint = (): string =>
    `this machine has an NVIDIA driver: set VK_DRIVER_FILES to its Vulkan manifest (${d.nvidiaIcd ?? 'nvidia_icd.json, installed with the driver'}) ` +
    'and install libglvnd (Debian/Ubuntu: libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2), which the NVIDIA Vulkan driver loads';
  if (d.loader === undefined) {
    const hints = [`install it (Debian/Ubuntu: \`apt-get install libvulkan1\`)`];
    if (d.privateDir !== undefined) {
      hints.push(privateHint(d.privateDir));
    } else if (!d.nvidiaDriver) {
      hints.push("or run fs2's scripts/setup-vulkan.sh, which installs the loader and a software driver (Mesa lavapipe) without root");
    }
    if (d.nvidiaDriver) {
      hints.push(nvidiaHint());
    }
    return {
      reason: 'vulkan_loader_missing',
      message: `${lead} the Vulkan loader ${VULKAN_LOADER}, through which Dawn (the \`webgpu\` package) reaches the GPU, is not installed. ${capitalise(hints.join('; '))}.`,
    };
  }
  const parts = [`${lead} the Vulkan loader is there (${d.loader}), but no Vulkan driver offered an adapter.`];
  if (d.missingDriverFiles.length > 0) {
    parts.push(`VK_DRIVER_FILES names ${d.missingDriverFiles.join(', ')}, which does not exist.`);
  }
  if (d.nvidiaDriver) {
    parts.push(`${capitalise(nvidiaHint())}.`);
  } else if (d.privateDir !== undefined) {
    parts.push(`${capitalise(privateHint(d.privateDir))}.`);
  } else {
    parts.push(
      "Install the Vulkan driver of your GPU, or a software one (Mesa lavapipe 24 or later; Debian 12's Mesa 22 is rejected by Dawn) with fs2's scripts/setup-vulkan.sh.",
    );
  }
  parts.push("Dawn's own warnings, printed above, give its reason.");
  return { reason: 'no_adapter', message: parts.join(' ') };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
