import { describe, expect, it } from '@jest/globals';

import { diagnoseVulkan, explainNoAdapter, privateVulkanDir, privateVulkanEnv, type VulkanProbe } from './vulkan.js';

/** A probe over an in-memory file system: `files` exist, `ldCache` is /etc/ld.so.cache's content. */
function probe(env: Record<string, string>, files: readonly string[], ldCache?: string): VulkanProbe {
  const set = new Set(files);
  return {
    env,
    homeDir: '/home/u',
    exists: (path) => set.has(path),
    readFile: (path) => (path === '/etc/ld.so.cache' && ldCache !== undefined ? Buffer.from(ldCache, 'latin1') : undefined),
  };
}

const PRIVATE = '/home/u/.cache/fs2/vulkan';
const PRIVATE_LIB = `${PRIVATE}/root/usr/lib/x86_64-linux-gnu`;

describe('diagnoseVulkan', () => {
  it('finds the loader on LD_LIBRARY_PATH first, then in the linker cache, then in the standard folders', () => {
    expect(diagnoseVulkan(probe({ LD_LIBRARY_PATH: `/opt/a:${PRIVATE_LIB}` }, [`${PRIVATE_LIB}/libvulkan.so.1`])).loader).toBe(PRIVATE_LIB);
    expect(diagnoseVulkan(probe({}, [], '\0\0libvulkan.so.1\0/usr/lib/x86_64-linux-gnu/libvulkan.so.1')).loader).toBe('the linker cache');
    expect(diagnoseVulkan(probe({}, ['/usr/lib64/libvulkan.so.1'], 'libc.so.6')).loader).toBe('/usr/lib64');
    expect(diagnoseVulkan(probe({ LD_LIBRARY_PATH: '/opt/a' }, [])).loader).toBeUndefined();
  });

  it('reports the driver manifests named, the missing ones, an NVIDIA driver and its manifest, and fs2\'s private driver', () => {
    const d = diagnoseVulkan(
      probe({ VK_DRIVER_FILES: '/x/nvidia_icd.json:/y/gone.json' }, [
        '/x/nvidia_icd.json',
        '/proc/driver/nvidia/version',
        '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json',
        `${PRIVATE}/lvp_icd.json`,
      ]),
    );
    expect(d).toEqual({
      loader: undefined,
      driverFiles: ['/x/nvidia_icd.json', '/y/gone.json'],
      missingDriverFiles: ['/y/gone.json'],
      nvidiaDriver: true,
      nvidiaIcd: '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json',
      privateDir: PRIVATE,
    });
    expect(diagnoseVulkan(probe({ VK_ICD_FILENAMES: '/old.json' }, [])).driverFiles).toEqual(['/old.json']);
  });

  it('takes the private folder from FS2_VULKAN_DIR', () => {
    expect(privateVulkanDir({ env: { FS2_VULKAN_DIR: '/opt/vk' }, homeDir: '/home/u' })).toBe('/opt/vk');
    expect(privateVulkanDir({ env: {}, homeDir: '/home/u' })).toBe(PRIVATE);
    expect(privateVulkanEnv('/opt/vk')).toEqual({ LD_LIBRARY_PATH: '/opt/vk/root/usr/lib/x86_64-linux-gnu', VK_DRIVER_FILES: '/opt/vk/lvp_icd.json' });
  });
});

describe('explainNoAdapter', () => {
  it('names a missing loader, with the private driver to use when it is installed', () => {
    expect(explainNoAdapter(diagnoseVulkan(probe({}, [`${PRIVATE}/lvp_icd.json`])))).toEqual({
      reason: 'vulkan_loader_missing',
      message:
        'The `webgpu` device found no GPU adapter: the Vulkan loader libvulkan.so.1, through which Dawn (the `webgpu` package) reaches the GPU, is not installed. ' +
        'Install it (Debian/Ubuntu: `apt-get install libvulkan1`); start Node with ' +
        `LD_LIBRARY_PATH=${PRIVATE_LIB} VK_DRIVER_FILES=${PRIVATE}/lvp_icd.json to use the software driver installed in ${PRIVATE}.`,
    });
  });

  it('names a missing loader, and the setup script, on a machine without any driver', () => {
    expect(explainNoAdapter(diagnoseVulkan(probe({}, []))).message).toBe(
      'The `webgpu` device found no GPU adapter: the Vulkan loader libvulkan.so.1, through which Dawn (the `webgpu` package) reaches the GPU, is not installed. ' +
        "Install it (Debian/Ubuntu: `apt-get install libvulkan1`); or run fs2's scripts/setup-vulkan.sh, which installs the loader and a software driver (Mesa lavapipe) without root.",
    );
  });

  it('names a missing loader and what NVIDIA needs on an NVIDIA machine', () => {
    expect(explainNoAdapter(diagnoseVulkan(probe({}, ['/dev/nvidiactl', '/usr/share/vulkan/icd.d/nvidia_icd.json']))).message).toBe(
      'The `webgpu` device found no GPU adapter: the Vulkan loader libvulkan.so.1, through which Dawn (the `webgpu` package) reaches the GPU, is not installed. ' +
        'Install it (Debian/Ubuntu: `apt-get install libvulkan1`); this machine has an NVIDIA driver: set VK_DRIVER_FILES to its Vulkan manifest ' +
        '(/usr/share/vulkan/icd.d/nvidia_icd.json) and install libglvnd (Debian/Ubuntu: libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2), which the NVIDIA Vulkan driver loads.',
    );
  });

  it('says that no driver offered an adapter when the loader is there, naming a missing manifest', () => {
    expect(explainNoAdapter(diagnoseVulkan(probe({ VK_DRIVER_FILES: '/nowhere/icd.json' }, ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1'])))).toEqual({
      reason: 'no_adapter',
      message:
        'The `webgpu` device found no GPU adapter: the Vulkan loader is there (/usr/lib/x86_64-linux-gnu), but no Vulkan driver offered an adapter. ' +
        'VK_DRIVER_FILES names /nowhere/icd.json, which does not exist. ' +
        "Install the Vulkan driver of your GPU, or a software one (Mesa lavapipe 24 or later; Debian 12's Mesa 22 is rejected by Dawn) with fs2's scripts/setup-vulkan.sh. " +
        "Dawn's own warnings, printed above, give its reason.",
    });
  });

  it('points at the NVIDIA manifest, or at the private driver, when the loader is there', () => {
    const loader = [`${PRIVATE_LIB}/libvulkan.so.1`];
    expect(explainNoAdapter(diagnoseVulkan(probe({ LD_LIBRARY_PATH: PRIVATE_LIB }, [...loader, '/dev/nvidiactl']))).message).toBe(
      `The \`webgpu\` device found no GPU adapter: the Vulkan loader is there (${PRIVATE_LIB}), but no Vulkan driver offered an adapter. ` +
        'This machine has an NVIDIA driver: set VK_DRIVER_FILES to its Vulkan manifest (nvidia_icd.json, installed with the driver) and install libglvnd ' +
        "(Debian/Ubuntu: libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2), which the NVIDIA Vulkan driver loads. Dawn's own warnings, printed above, give its reason.",
    );
    expect(explainNoAdapter(diagnoseVulkan(probe({ LD_LIBRARY_PATH: PRIVATE_LIB }, [...loader, `${PRIVATE}/lvp_icd.json`]))).message).toBe(
      `The \`webgpu\` device found no GPU adapter: the Vulkan loader is there (${PRIVATE_LIB}), but no Vulkan driver offered an adapter. ` +
        `Start Node with LD_LIBRARY_PATH=${PRIVATE_LIB} VK_DRIVER_FILES=${PRIVATE}/lvp_icd.json to use the software driver installed in ${PRIVATE}. ` +
        "Dawn's own warnings, printed above, give its reason.",
    );
  });
});
