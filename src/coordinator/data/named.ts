// The named datasets syncgrad knows, Fashion-MNIST and MNIST: where their four
// IDX files are looked for, where they are downloaded from when absent, and how
// they become a training and a test set.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError, OptionError } from '../../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { describe, errorCode, removeEmptyDirectories } from './common.js';
import { CacheFolderError, createCacheFolder, downloadFile, fileUrl } from './download.js';
import { readIdxImages, readIdxLabels } from './idx.js';
import type { LoadProgress } from './progress.js';

export type DatasetName = 'fashion-mnist' | 'mnist';

const kFileNames = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

type FileName = (typeof kFileNames)[number];

/** MD5 of each gzipped file as published next to it. */
export type Checksums = Record<FileName, string>;

interface NamedDataset {
  title: string;
  classNames: string[];
  baseUrl: string;
  checksums: Checksums;
  /** Folders a system package installs the files into. */
  systemFolders: string[];
  /** How to get the files without a download, for the not-found message. */
  installHint: string;
}

const kDatasets: Record<DatasetName, NamedDataset> = {
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    classNames: [
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ],
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    checksums: {
      'train-images-idx3-ubyte': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
    systemFolders: ['/usr/share/datasets/fashion-mnist'],
    installHint: 'install it with `apt-get install dataset-fashion-mnist` (Debian, Ubuntu), ',
  },
  mnist: {
    title: 'MNIST',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    checksums: {
      'train-images-idx3-ubyte': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
    systemFolders: [],
    installHint: '',
  },
};

export function isDatasetName(dataset: string): dataset is DatasetName {
  return Object.hasOwn(kDatasets, dataset);
}

export interface NamedLoadOptions {
  dataDir?: string;
  cacheDir: string;
  download: boolean;
  baseUrl?: string;
  onProgress?: (event: LoadProgress) => void;
  /** Replaces the folders system packages install into; for tests on machines that have them. */
  systemFolders?: string[];
}

/** Finds a named dataset (downloading it when allowed) and reads its four files. */
export async function loadNamedDataset(
  name: DatasetName,
  options: NamedLoadOptions,
): Promise<DatasetSplits> {
  const dataset = kDatasets[name];
  await checkDataDir(dataset.title, name, options.dataDir, '--data-dir');
  await checkDataDir(dataset.title, name, process.env.SYNCGRAD_DATA_DIR, 'SYNCGRAD_DATA_DIR');

  // the first folder holding all four files wins
  const places = searchFolders(name, options);
  const searched: string[] = [];
  for (const folder of places) {
    const found = findFiles(folder);
    if (found.missing.length === 0) return readSplits(dataset, found.paths);
    searched.push(describePlace(folder, found.missing));
  }

  // otherwise fetch what the cache lacks
  const cacheFolder = join(options.cacheDir, name);
  let downloadProblem = 'downloading is turned off';
  if (options.download) {
    try {
      await downloadNamedDataset(name, options);
      return readSplits(dataset, findFiles(cacheFolder).paths);
    } catch (error) {
      if (!(error instanceof DatasetError) || error instanceof CacheFolderError) throw error;
      downloadProblem = describe(error);
    }
  }
  const source = options.baseUrl ?? dataset.baseUrl;
  const retry = options.download
    ? `or run again once ${source} can be reached`
    : `or allow the download from ${source} into ${cacheFolder}`;
  throw new DatasetError(
    cacheFolder,
    `${dataset.title} was not found. Looked for the four files ${kFileNames.join(', ')} ` +
      `(each raw or .gz, '-idx' or '.idx') in:\n` +
      `${searched.map((line) => `  - ${line}`).join('\n')}\n` +
      `and could not download it: ${downloadProblem}.\nTo fix it, ${dataset.installHint}` +
      `pass a folder holding the files with --data-dir (or set SYNCGRAD_DATA_DIR), ${retry}`,
  );
}

export interface DownloadOptions {
  cacheDir: string;
  baseUrl?: string;
  /** Replaces the published checksums; for serving test files. */
  checksums?: Checksums;
  onProgress?: (event: LoadProgress) => void;
}

/**
 * Downloads the gzipped files of `name` that `<cacheDir>/<name>/` lacks, one
 * after another. A cache folder that cannot be created is a CacheFolderError;
 * folders created here are removed again when a download fails and leaves
 * them empty.
 */
export async function downloadNamedDataset(name: DatasetName, options: DownloadOptions) {
  const dataset = kDatasets[name];
  const baseUrl = options.baseUrl ?? dataset.baseUrl;
  const checksums = options.checksums ?? dataset.checksums;
  const folder = join(options.cacheDir, name);
  const missing = findFiles(folder).missing;
  if (missing.length === 0) return;

  const created = await createCacheFolder(folder, options.cacheDir, `download ${dataset.title}`);
  try {
    for (const file of missing) {
      const url = fileUrl(baseUrl, `${file}.gz`);
      await downloadFile(url, join(folder, `${file}.gz`), checksums[file], options.onProgress);
    }
  } catch (error) {
    await removeEmptyDirectories(created);
    throw error;
  }
}

/**
 * Fails with an OptionError when a data folder was named (by `source`, the
 * flag or the variable) but is not a folder; `title` and `subfolder` say what
 * it should hold.
 */
export async function checkDataDir(
  title: string,
  subfolder: string,
  dataDir: string | undefined,
  source: string,
) {
  if (!dataDir) return;
  const found = await stat(dataDir).then(
    (stats) => (stats.isDirectory() ? undefined : 'is not a folder'),
    (error: unknown) => {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
      return `cannot be used (${describe(error)})`;
    },
  );
  if (found === undefined) return;
  const given = source.startsWith('--') ? `${source} ${dataDir}` : `${source} (${dataDir})`;
  const fix = source.startsWith('--')
    ? `pass an existing folder, or leave ${source} out`
    : `point ${source} at an existing folder, or unset it`;
  throw new OptionError(
    'data-dir',
    `${given} ${found}; expected a folder holding the ${title} files ` +
      `(directly or in a ${subfolder}/ subfolder), so ${fix}`,
  );
}

/** In order: the data folder option, $SYNCGRAD_DATA_DIR, the cache, system folders. */
function searchFolders(name: DatasetName, options: NamedLoadOptions): string[] {
  const folders: string[] = [];
  for (const dataDir of [options.dataDir, process.env.SYNCGRAD_DATA_DIR]) {
    if (dataDir) folders.push(join(dataDir, name), dataDir);
  }
  folders.push(join(options.cacheDir, name));
  folders.push(...(options.systemFolders ?? kDatasets[name].systemFolders));
  return [...new Set(folders)];
}

interface FoundFiles {
  paths: Record<FileName, string>;
  missing: FileName[];
}

function findFiles(folder: string): FoundFiles {
  const paths = {} as Record<FileName, string>;
  const missing: FileName[] = [];
  for (const file of kFileNames) {
    // the published names, and the 'train-images.idx3-ubyte' spelling some mirrors use
    const names = [file, file.replace('-idx', '.idx')];
    const path = names
      .flatMap((name) => [join(folder, name), join(folder, `${name}.gz`)])
      .find((each) => existsSync(each));
    if (path === undefined) missing.push(file);
    else paths[file] = path;
  }
  return { paths, missing };
}

function describePlace(folder: string, missing: FileName[]): string {
  if (!existsSync(folder)) return `${folder} (no such folder)`;
  if (missing.length === kFileNames.length) return `${folder} (none of the files)`;
  return `${folder} (missing ${missing.join(', ')})`;
}

async function readSplits(
  dataset: NamedDataset,
  paths: Record<FileName, string>,
): Promise<DatasetSplits> {
  const [train, test] = await Promise.all([
    readSplit(dataset, paths['train-images-idx3-ubyte'], paths['train-labels-idx1-ubyte']),
    readSplit(dataset, paths['t10k-images-idx3-ubyte'], paths['t10k-labels-idx1-ubyte']),
  ]);
  return { train, test };
}

async function readSplit(
  dataset: NamedDataset,
  imagesPath: string,
  labelsPath: string,
): Promise<LabelledImages> {
  const images = await readIdxImages(imagesPath);
  const classCount = dataset.classNames.length;
  const labels = await readIdxLabels(labelsPath, images.count, imagesPath, classCount);
  return {
    pixels: images.pixels,
    labels,
    count: images.count,
    height: images.height,
    width: images.width,
    channels: 1,
    classNames: [...dataset.classNames],
    source: imagesPath,
  };
}
