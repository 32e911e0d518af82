'use client'
import { useSyncExternalStore } from 'react'
import { Icons } from './icons'

export type Theme = 'dark' | 'light'
const KEY = 'switchyard.theme'

/** Runs before first paint (inlined in <head>) so the page never flashes the wrong theme. */
export const THEME_BOOT_SCRIPT = `(function(){try{var t=localStorage.getItem('${KEY}');if(t!=='light'&&t!=='dark'){t=matchMedia('(prefers-color-scheme: light)').matches?'light':'dark'}document.documentElement.dataset.theme=t}catch(e){document.documentElement.dataset.theme='dark'}})()`

const listeners = new Set<() => void>()
function current(): Theme {
  return document.documentElement.dataset.theme === 'light' ? 'light' : 'dark'
}
function subscribe(fn: () => void) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}
export function setTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme
  try {
    localStorage.setItem(KEY, theme)
  } catch {}
  listeners.forEach((l) => l())
}

export function ThemeToggle() {
  const theme = useSyncExternalStore(subscribe, current, () => 'dark' as Theme)
  const next = theme === 'dark' ? 'light' : 'dark'
  return (
    <button type="button" className="btn ghost sm icon" onClick={() => setTheme(next)} aria-label={`Switch to ${next} theme`} title={`Switch to ${next} theme`}>
      {theme === 'dark' ? <Icons.sun /> : <Icons.moon />}
    </button>
  )
}
