# vdi-broker hyperv delete
$ErrorActionPreference='Stop'
$d='D:\VDI\Desktops\finance-0a1b2c3d.vhdx'
$n='finance-0a1b2c3d'
$o='vdi-broker'
try{
$vm=Get-VM -Name $n -ErrorAction SilentlyContinue
if($vm){
if($vm.Notes -notlike ($o+'*')){throw ('VM '+$n+' was not made by the broker')}
if($vm.State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}
$disks=@($vm|Get-VMHardDiskDrive|ForEach-Object {$_.Path})+@($d)
Remove-VM -VM $vm -Force
foreach($f in $disks){Remove-Item -LiteralPath $f -Force -ErrorAction SilentlyContinue}}
@{deleted=$true}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
